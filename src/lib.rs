//! mnist-mlp: a multilayer perceptron for MNIST written by hand on `ndarray`:
//! every forward pass, gradient, loss, activation and optimizer step lives in this crate.
//!
//! # Module map
//!
//! Arrows point one way. Each folder imports only folders that come after it in this list:
//! [`cli`], [`handin`], [`report`], [`evaluate`], [`store`], [`plot`], [`train`], [`model`], [`data`],
//! [`nn`], then the leaves [`io`], [`text`] and [`choice`]. `store` sits above `train` and `model`
//! because the files it writes hold what they make (the configuration, the resumable
//! progress, the classifier). No module imports one that imports it back.
//!
//! ```text
//! main.rs             parse → cli::run → print the error chain → exit status
//! handin.rs           the homework's zip: report PDF, .pkl, evaluate_hw1.py, code, how to run
//! evaluate.rs         the homework's evaluate_hw1(): MNIST test set + weights file → accuracy
//! choice.rs           enums chosen by name (CLI values, run-log names) without knowing clap
//!
//! cli/                the only place that knows clap and anyhow
//!   args.rs           the clap definitions; doc comments are the --help text
//!   mod.rs            run: dispatch to a subcommand; exit status; broken pipe is success
//!   common.rs         what several subcommands share (prepared data, the accuracy line)
//!   train.rs          `train`: epoch lines, progress bar, Ctrl-C, checkpoints, atomic outputs
//!   evaluate.rs download.rs predict.rs analyze.rs export.rs report.rs handin.rs
//!                     one per subcommand
//!   interrupt.rs      SIGINT/SIGTERM → a stop request; exit status 130
//!
//! data/               images from disk, ready for the network
//!   images.rs         Images and LabeledImages in memory
//!   idx.rs            the IDX reader and writer (gzip or raw), bounded and checked
//!   names.rs          the files' names on disk (canonical and accepted spellings)
//!   catalog.rs        the known data sets: mirrors, checksums, classes, how each differs
//!   source.rs         which folder and data set a request means; loading a split
//!   download.rs       fetching missing files from mirrors, verified by checksum
//!   input.rs          input scaling and batch building (u8 pixels → dense or sparse f32 rows)
//!   augment.rs        shifts, affine and elastic distortions, per image and epoch
//!
//! text.rs             outside text (class names, authors, paths) with its control characters
//!                     escaped, for every text output
//!
//! nn/                 the network by hand
//!   linalg.rs         Real (f32/f64) and matmul over the gemm kernels
//!   layers.rs         each layer's forward beside its backward; fused softmax-CE
//!   sparse.rs         the first layer on sparse inputs: forward beside weight gradient
//!   mlp.rs            architecture, parameters, workspace, the whole forward/backward
//!   optim.rs          SGD, Nesterov, Adam, AdamW: one flat loop per tensor
//!   schedule.rs       learning-rate schedules
//!   rng.rs            the one seeded random stream
//!   denormals.rs      flush-to-zero on every computing thread
//!
//! train/              turning data into a trained network
//!   config.rs         TrainConfig from one table of fields; validation; presets
//!   stepper.rs        the shard-parallel mini-batch step
//!   progress.rs       the resumable state of a run
//!   learning.rs       whether the run is learning: chance, the not-learning and collapse checks
//!   mod.rs            the epoch loop, its observer, divergence checks
//!   metrics.rs        per-epoch metrics and their CSV
//!
//! model/              a trained classifier and what it says
//!   mod.rs            Classifier (network + input scaling), evaluation
//!   analysis.rs       confusion matrix, per-class figures, worst mistakes
//!   predict.rs        classifying the user's own image files
//!
//! store/              what is written to disk and read back
//!   weights.rs        the weights file
//!   checkpoint.rs     the checkpoint that --resume continues
//!   export.rs         .npz, .safetensors and .pkl: the formats, the tensors, the metadata
//!   torch.rs          the .pkl: a PyTorch checkpoint (zip + pickle) written without Python
//!   python.rs         the generated evaluate_hw1.py that grades the .pkl (PyTorch or NumPy)
//!   runlog.rs         one JSON line per training run
//!   framed.rs         magic, version and bounded decoding, shared by weights and checkpoint
//!
//! io/                 file plumbing under every layer
//!   atomic.rs         outputs written through a temporary file and a rename
//!   digest.rs         sha256 and md5 as hex, of bytes, streams and files
//!   paths.rs          paths in serialized records: lossy in JSON, exact in binary formats
//!   on_signal.rs      paths removed when SIGINT or SIGTERM ends the process (downloads)
//!
//! plot/               PNG charts: accuracy per epoch (mod.rs), confusion and mistakes (analysis.rs)
//! report/             the homework's report, made from the weights file and the run log
//!   mod.rs            the sections: model, training, convergence
//!   attempts.rs       the last section: the run log's runs, and the conclusions
//!   facts.rs          what the sections share: the report's data, figures and settings as text
//!   theory.rs         the gradient of the softmax cross-entropy, derived step by step
//!   doc.rs            the content model, rendered as Markdown and as typst
//!   math.rs           formulas written once in LaTeX, translated to typst
//!   pdf.rs            the PDF, typeset in-process (feature `pdf`)
//! ```

pub mod choice;
pub mod cli;
pub mod data;
pub mod evaluate;
pub mod handin;
pub mod io;
pub mod model;
pub mod nn;
pub mod plot;
pub mod report;
pub mod store;
pub mod text;
pub mod train;
