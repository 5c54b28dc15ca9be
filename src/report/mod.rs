//! `mnist-mlp report`: the homework's written report, made from the run itself — the
//! weights file (architecture, configuration, per-epoch history), the run log (time,
//! machine, the other attempts) and the pictures — as Markdown and, with the `pdf` feature,
//! as a PDF typeset in-process by typst.
//!
//! [`build`] makes the content once ([`doc::Document`]); [`doc::to_markdown`] and
//! [`doc::to_typst`] render it. Each formula is written once, in LaTeX; [`math`] translates
//! it to typst for the PDF. [`theory`] holds the derivation, the first section.

mod attempts;
pub mod doc;
pub mod facts;
pub mod math;
#[cfg(feature = "pdf")]
pub mod pdf;
mod theory;

use std::io;
use std::path::{Path, PathBuf};

use crate::choice::Choice;
use crate::io::atomic::{WriteError, write_bytes_atomically};
use crate::nn::layers::Activation;
use crate::nn::optim::OptimizerKind;
use crate::nn::schedule::Schedule;
use crate::plot::{PlotError, accuracy_title, plot_accuracy};
use crate::store::runlog::{self, RunLogError, RunRecord};
use crate::store::sweeplog::SweepRecord;
use crate::store::weights::{self, WeightsError};
use crate::train::config::TrainConfig;
use attempts::attempts_section;
use doc::{
    Align, Block, Document, Figure, Inline, Section, Table, code, column, m, para, strong, text,
};
pub use facts::{MAX_RUNS_SHOWN, ReportData, differences, settings};
use facts::{duration, kept_epoch, number, percent, thousands};

/// What a report is made from.
#[derive(Debug, Clone)]
pub struct ReportInputs {
    pub weights: PathBuf,
    /// The confusion-matrix picture of `mnist-mlp analyze`; left out when the file is missing.
    pub confusion: PathBuf,
    pub run_log: PathBuf,
    /// The log of `mnist-mlp sweep`; its runs on the network's data set are reported.
    pub sweep_log: PathBuf,
    pub authors: Vec<String>,
    pub title: String,
    /// The date printed under the title (UTC), `YYYY-MM-DD`.
    pub date: String,
}

/// A report that cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Weights(#[from] WeightsError),
    #[error(transparent)]
    RunLog(#[from] RunLogError),
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error(transparent)]
    Plot(#[from] PlotError),
    #[cfg(feature = "pdf")]
    #[error(transparent)]
    Pdf(#[from] pdf::PdfError),
}

/// The files a report wrote.
#[derive(Debug, Clone, Default)]
pub struct Written {
    pub files: Vec<PathBuf>,
    /// The PDF and its page count, when one was made.
    pub pdf: Option<(PathBuf, usize)>,
}

/// Today's date in UTC, `YYYY-MM-DD`.
pub fn today_utc() -> String {
    let stamp = runlog::rfc3339_utc(std::time::SystemTime::now());
    stamp[..10].to_string()
}

/// Reads the weights file, the run log and what pictures there are.
pub fn gather(inputs: &ReportInputs) -> Result<ReportData, ReportError> {
    let run = weights::load(&inputs.weights)?;
    let (runs, unreadable_runs) = runlog::read::<RunRecord>(&inputs.run_log)?;
    let (sweeps, unreadable_sweeps) = runlog::read::<SweepRecord>(&inputs.sweep_log)?;
    let sweeps = sweeps
        .into_iter()
        .filter(|r| r.same_data(&run.data))
        .collect();
    let sha =
        crate::io::digest::file_sha256(&inputs.weights).map_err(|source| ReportError::Read {
            path: inputs.weights.clone(),
            source,
        })?;
    let exact = runs
        .iter()
        .rposition(|r| r.weights_sha256.as_deref() == Some(sha.as_str()));
    let kept = run.history.iter().find(|m| m.epoch == kept_epoch(&run));
    let reproduction = runs.iter().rposition(|r| {
        r.config == run.config
            && r.same_data(&run.data)
            && kept.is_some_and(|k| k.test_accuracy == r.test_accuracy)
    });
    Ok(ReportData {
        run,
        weights_path: inputs.weights.clone(),
        runs,
        unreadable_runs,
        sweeps,
        unreadable_sweeps,
        this_run: exact.or(reproduction),
        this_run_exact: exact.is_some(),
        has_confusion: inputs.confusion.is_file(),
        authors: inputs.authors.clone(),
        title: inputs.title.clone(),
        date: inputs.date.clone(),
    })
}

/// File names of the pictures inside the report's folder.
pub const ACCURACY_PNG: &str = "accuracy.png";
pub const CONFUSION_PNG: &str = "confusion.png";

/// Writes `report.md`, `report.typ`, the pictures and (with the `pdf` feature)
/// `report.pdf` into `out_dir`.
pub fn write_report(inputs: &ReportInputs, out_dir: &Path) -> Result<Written, ReportError> {
    let data = gather(inputs)?;
    let document = build(&data);
    let mut written = Written::default();
    let mut put = |name: &str, bytes: &[u8]| -> Result<(), WriteError> {
        let path = out_dir.join(name);
        write_bytes_atomically(&path, bytes)?;
        written.files.push(path);
        Ok(())
    };
    let accuracy = out_dir.join(ACCURACY_PNG);
    let title = accuracy_title(&data.run.classifier.mlp.arch, &data.run.data);
    plot_accuracy(&accuracy, &data.run.history, &title)?;
    let accuracy_png = std::fs::read(&accuracy).map_err(|source| ReportError::Read {
        path: accuracy.clone(),
        source,
    })?;
    let mut pictures = vec![(ACCURACY_PNG.to_string(), accuracy_png)];
    if data.has_confusion {
        let bytes = std::fs::read(&inputs.confusion).map_err(|source| ReportError::Read {
            path: inputs.confusion.clone(),
            source,
        })?;
        put(CONFUSION_PNG, &bytes)?;
        pictures.push((CONFUSION_PNG.to_string(), bytes));
    }
    put("report.md", doc::to_markdown(&document).as_bytes())?;
    let typst_source = doc::to_typst(&document);
    put("report.typ", typst_source.as_bytes())?;
    #[cfg(feature = "pdf")]
    {
        let typeset = pdf::typeset(&typst_source, &pictures, &data.date)?;
        let path = out_dir.join("report.pdf");
        write_bytes_atomically(&path, &typeset.pdf)?;
        written.pdf = Some((path, typeset.pages));
    }
    #[cfg(not(feature = "pdf"))]
    let _ = pictures;
    written.files.insert(0, accuracy);
    Ok(written)
}

// ---------------------------------------------------------------------------------------
// The content

/// The whole report's content.
pub fn build(data: &ReportData) -> Document {
    let sha_note = match (data.this_run, data.this_run_exact) {
        (Some(i), true) => format!("run {} of the run log", i + 1),
        (Some(i), false) => format!("reproduced by run {} of the run log", i + 1),
        (None, _) => "no run log entry".to_string(),
    };
    Document {
        title: data.title.clone(),
        authors: data.authors.clone(),
        subtitle: format!(
            "{} · generated by mnist-mlp report from {} ({})",
            data.date,
            data.weights_path.display(),
            sha_note
        ),
        sections: vec![
            theory::theory_section(data.run.classifier.mlp.arch.activation),
            model_section(data),
            training_section(data),
            results_section(data),
            attempts_section(data),
        ],
    }
}

fn value_name<T: Choice>(v: T) -> String {
    v.name().to_string()
}

fn activation_name(a: Activation) -> &'static str {
    match a {
        Activation::Relu => "ReLU",
        Activation::Tanh => "tanh",
        Activation::Sigmoid => "sigmoid",
    }
}

fn init_std(act: Activation, fan_in: usize, fan_out: usize) -> f64 {
    match act {
        Activation::Relu => (2.0 / fan_in as f64).sqrt(),
        Activation::Tanh | Activation::Sigmoid => (2.0 / (fan_in + fan_out) as f64).sqrt(),
    }
}

fn model_section(data: &ReportData) -> Section {
    let run = &data.run;
    let arch = &run.classifier.mlp.arch;
    let sizes = arch.layer_sizes();
    let layers = sizes.len() - 1;
    let mut rows = Vec::new();
    for (l, io) in sizes.windows(2).enumerate() {
        let (fan_in, fan_out) = (io[0], io[1]);
        let last = l + 1 == layers;
        let kind = if last { "output" } else { "hidden" };
        rows.push(vec![
            vec![text(format!("{} ({kind})", l + 1))],
            vec![text(format!("{fan_in} → {fan_out}"))],
            vec![text(if last {
                "softmax".to_string()
            } else {
                activation_name(arch.activation).to_string()
            })],
            vec![m(format!(r"{fan_in} \times {fan_out}"))],
            vec![text(fan_out.to_string())],
            vec![text(thousands(fan_in * fan_out + fan_out))],
            vec![text(format!(
                "{:.4}",
                init_std(arch.activation, fan_in, fan_out)
            ))],
        ]);
    }
    rows.push(vec![
        vec![strong("total")],
        vec![text(arch.describe())],
        vec![],
        vec![],
        vec![],
        vec![strong(thousands(arch.parameter_count()))],
        vec![],
    ]);
    let table = Table {
        columns: vec![
            column("layer", Align::Left),
            column("map", Align::Left),
            column("activation", Align::Left),
            column("W", Align::Left),
            column("b", Align::Right),
            column("parameters", Align::Right),
            column("init. std", Align::Right),
        ],
        rows,
    };
    let (init_name, init_rule) = match arch.activation {
        Activation::Relu => ("He-normal", m(r"\sqrt{2 / n_{\text{in}}}")),
        Activation::Tanh | Activation::Sigmoid => (
            "Xavier/Glorot-normal",
            m(r"\sqrt{2 / (n_{\text{in}} + n_{\text{out}})}"),
        ),
    };
    let dataset = run.data.describe();
    let blocks = vec![
        para(vec![text(format!(
            "A multilayer perceptron written by hand on ndarray tensors (no automatic \
                 differentiation, no ML framework): {} inputs (the {}×{} pixels of an image, \
                 row by row), {} hidden layer{} of {}, and {} outputs, the classes of {} ({}).",
            arch.input_size,
            (arch.input_size as f64).sqrt().round(),
            (arch.input_size as f64).sqrt().round(),
            arch.hidden.len(),
            if arch.hidden.len() == 1 { "" } else { "s" },
            activation_name(arch.activation),
            arch.num_classes,
            dataset,
            class_list(&run.data.class_names),
        ))]),
        Block::Table(table),
        para(vec![
            strong("Initialisation"),
            text(" ("),
            code("Params::initial"),
            text(" in "),
            code("src/nn/mlp.rs"),
            text(
                "): every weight drawn from a normal distribution with mean 0 and standard \
                  deviation ",
            ),
            init_rule,
            text(format!(
                " ({init_name}, the last column), from a ChaCha8 stream seeded with {}; \
                 biases 0. ",
                run.config.seed
            )),
            strong("Input scaling"),
            text(format!(
                ": each pixel 0–255 becomes {}.",
                run.classifier.input_scaling.describe()
            )),
        ]),
    ];
    Section {
        title: "The model".into(),
        blocks,
    }
}

fn class_list(names: &[String]) -> String {
    if names.len() <= 12 {
        names.join(", ")
    } else {
        format!("{}, …, {}", names[..3].join(", "), names[names.len() - 1])
    }
}

fn optimizer_text(c: &TrainConfig) -> Vec<Inline> {
    let mut out = match c.optimizer {
        OptimizerKind::Sgd => vec![
            text(format!(
                "mini-batch SGD with heavy-ball momentum μ = {}: ",
                number(c.momentum)
            )),
            m(r"v \leftarrow \mu v + g,\ \theta \leftarrow \theta - \eta v"),
        ],
        OptimizerKind::Nesterov => vec![
            text(format!(
                "mini-batch SGD with Nesterov momentum μ = {}: ",
                number(c.momentum)
            )),
            m(r"v \leftarrow \mu v + g,\ \theta \leftarrow \theta - \eta (g + \mu v)"),
        ],
        OptimizerKind::Adam => vec![text(
            "Adam (β₁ = 0.9, β₂ = 0.999, ε = 10⁻⁸; weight decay added to the gradient)",
        )],
        OptimizerKind::Adamw => vec![text(
            "AdamW (β₁ = 0.9, β₂ = 0.999, ε = 10⁻⁸; decoupled weight decay)",
        )],
    };
    out.push(text(format!(
        " (src/nn/optim.rs), where g is the gradient of the mean loss over a mini-batch of {} \
         images, reshuffled every epoch. ",
        c.batch_size
    )));
    out.push(text(learning_rate_text(c)));
    let augment = match value_name(c.augment).as_str() {
        "none" => "Images are used as they are (no augmentation).".to_string(),
        "shift" => "Each training image is moved by a random whole number of pixels, up to 2 \
                    each way, drawn anew every epoch."
            .to_string(),
        "affine" => "Each training image is rotated (±12°), scaled (0.9–1.1), sheared (±0.15) \
                     and moved (±2 pixels) at random, drawn anew every epoch."
            .to_string(),
        other => format!(
            "Each training image gets a random affine transform and an elastic distortion \
             ({other}), drawn anew every epoch."
        ),
    };
    out.push(text(augment));
    let mut extras = Vec::new();
    if c.weight_decay > 0.0 {
        extras.push(format!("weight decay λ = {}", number(c.weight_decay)));
    }
    if let Some(n) = c.clip_grad_norm {
        extras.push(format!("gradients clipped to norm {}", number(n)));
    }
    if let Some(n) = c.max_norm {
        extras.push(format!("max-norm {} on each unit's weights", number(n)));
    }
    if c.dropout > 0.0 {
        extras.push(format!(
            "inverted dropout p = {} on the hidden layers",
            number(c.dropout)
        ));
    }
    if c.label_smoothing > 0.0 {
        extras.push(format!("label smoothing ε = {}", number(c.label_smoothing)));
    }
    if !extras.is_empty() {
        out.push(text(format!(" Regularisation: {}.", extras.join("; "))));
    }
    out
}

/// The sentence on the learning-rate schedule of `c`, with its warm-up.
fn learning_rate_text(c: &TrainConfig) -> String {
    let schedule = match c.lr_schedule {
        Schedule::Constant => format!("constant at {}", number(c.learning_rate)),
        Schedule::Step => format!(
            "{}, divided by 10 at 50% and again at 75% of the steps",
            number(c.learning_rate)
        ),
        Schedule::Cosine => format!(
            "cosine annealing from {} to 0 over the run, step by step",
            number(c.learning_rate)
        ),
        Schedule::Onecycle => {
            let rise = match c.warmup_epochs {
                0 => "the first 30% of the steps".to_string(),
                epochs => format!("the first {epochs} epoch(s)"),
            };
            format!(
                "one cycle (the learning rate of PyTorch's OneCycleLR; the momentum is not \
                 cycled): up from {} to {} at the end of {rise}, then down to {} at the last \
                 step, along half cosines",
                number(c.learning_rate / 25.0),
                number(c.learning_rate),
                number(c.learning_rate / 25.0 / 1e4)
            )
        }
    };
    // One-cycle's rise is its warm-up, described above.
    let warmup = if c.warmup_epochs > 0 && c.lr_schedule != Schedule::Onecycle {
        format!(" after {} epoch(s) of linear warm-up", c.warmup_epochs)
    } else {
        String::new()
    };
    format!("The learning rate η is {schedule}{warmup}. ")
}

fn training_section(data: &ReportData) -> Section {
    let run = &data.run;
    let c = &run.config;
    let pairs = settings(c)
        .into_iter()
        .map(|(flag, value)| (flag.to_string(), vec![text(value)]))
        .collect();
    let epochs_run = run.history.len();
    let kept = kept_epoch(run);
    let mut timing = vec![text(format!(
        "{epochs_run} epoch{} were run",
        if epochs_run == 1 { "" } else { "s" }
    ))];
    if c.val_split > 0 {
        timing.push(text(format!(
            "; {} training images were held out for validation and the network kept is \
             epoch {kept}'s, the best on them",
            c.val_split
        )));
    } else {
        timing.push(text(format!(
            "; the network kept is the last epoch's ({kept})"
        )));
    }
    if let (Some(i), false) = (data.this_run, data.this_run_exact) {
        timing.push(text(format!(
            ". The run log has no entry for this very file, but run {} has the same settings \
             and data and reached the same test accuracy, though not bit for bit (rounding \
             differs between machines); its time is given",
            i + 1
        )));
    }
    match data.this_run.map(|i| &data.runs[i]) {
        Some(r) => timing.push(text(format!(
            ". The run took {} in all ({:.2} s of training per epoch, evaluation excluded), \
             on {}, finishing {} (UTC), per the run log.",
            duration(r.wall_seconds),
            r.seconds_per_epoch,
            r.machine.describe(),
            r.timestamp.replace('T', " ").trim_end_matches('Z')
        ))),
        None => timing.push(text(
            ". Its wall time and machine are unknown: no entry of the run log matches this \
             weights file (runs are logged from the version that added the run log on).",
        )),
    }
    let blocks = vec![
        para(vec![
            text("Every setting of the run, as recorded in the weights file (the flags of "),
            code("mnist-mlp train"),
            text("):"),
        ]),
        Block::Pairs(pairs),
        para(optimizer_text(c)),
        para(timing),
    ];
    Section {
        title: "The training procedure".into(),
        blocks,
    }
}

fn results_section(data: &ReportData) -> Section {
    let run = &data.run;
    let kept = kept_epoch(run);
    let mut blocks = Vec::new();
    let mut figures = vec![Figure {
        file: ACCURACY_PNG.to_string(),
        caption: "Train and test accuracy per epoch (drawn from the weights file's history)."
            .to_string(),
        weight: 1.1,
    }];
    if data.has_confusion {
        figures.push(Figure {
            file: CONFUSION_PNG.to_string(),
            caption: "Confusion matrix on the test set (from mnist-mlp analyze).".to_string(),
            weight: 0.9,
        });
    }
    blocks.push(Block::Figures(figures));
    if let Some(k) = run.history.iter().find(|m| m.epoch == kept) {
        let mut figures = vec![
            text(format!("At the kept epoch {kept}: ")),
            strong(format!("test accuracy {}", percent(k.test_accuracy))),
        ];
        if let Some(r) = data.this_run.map(|i| &data.runs[i]) {
            figures.push(text(format!(" ({}/{})", r.test_correct, r.test_total)));
        }
        figures.push(text(format!(
            ", test loss {:.4}; train accuracy {}, train loss {:.4}",
            k.test_loss,
            percent(k.train_accuracy),
            k.train_loss
        )));
        if let Some(v) = k.val_accuracy {
            figures.push(text(format!("; validation accuracy {}", percent(v))));
        }
        let best = run
            .history
            .iter()
            .max_by(|a, b| a.test_accuracy.total_cmp(&b.test_accuracy));
        if let Some(best) = best.filter(|b| b.epoch != kept) {
            figures.push(text(format!(
                ". The best test accuracy of any epoch was {} (epoch {}), not used to choose \
                 the network",
                percent(best.test_accuracy),
                best.epoch
            )));
        }
        match (k.train_images, k.running_train_accuracy) {
            (Some(n), _) => figures.push(text(format!(
                ". The train figures are an evaluation of {} of the images trained on, \
                 un-augmented, with the end-of-epoch weights, like the test figures (the \
                 metrics CSV also records the running figures, over each epoch's mini-batches \
                 as they were trained on).",
                thousands(n)
            ))),
            (None, running) => {
                figures.push(text(if running.is_some() {
                    ". The train figures are measured over each epoch's mini-batches as they \
                     were trained on (with augmentation, by the weights of the moment), which is \
                     why the train curve can lie below the test curve; "
                } else {
                    ". The weights file (written before format version 5) does not say how the \
                     train figures were measured; "
                }));
                figures.push(code("--train-metrics sample"));
                figures.push(text(
                    " (the default) measures them on un-augmented training images with the \
                     end-of-epoch weights.",
                ));
            }
        }
        blocks.push(para(figures));
    }
    Section {
        title: "Convergence and results".into(),
        blocks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(thousands(200_960), "200,960");
        assert_eq!(thousands(2_570), "2,570");
        assert_eq!(thousands(999), "999");
        assert_eq!(duration(9.24), "9.2 s");
        assert_eq!(duration(334.0), "5 min 34 s");
        assert_eq!(number(0.1), "0.1");
        assert_eq!(percent(0.9874), "98.74%");
    }

    /// Every formula in `doc`.
    fn formulas(doc: &Document) -> Vec<String> {
        fn inline(out: &mut Vec<String>, inlines: &[Inline]) {
            for i in inlines {
                if let Inline::Math(eq) = i {
                    out.push(eq.tex.clone());
                }
            }
        }
        let mut out = Vec::new();
        for block in doc.sections.iter().flat_map(|s| &s.blocks) {
            match block {
                Block::Paragraph(inlines) => inline(&mut out, inlines),
                Block::Equation(eq) => out.push(eq.tex.clone()),
                Block::Table(t) => t.rows.iter().flatten().for_each(|c| inline(&mut out, c)),
                Block::Pairs(pairs) => pairs.iter().for_each(|(_, v)| inline(&mut out, v)),
                Block::List(items) => items.iter().for_each(|i| inline(&mut out, i)),
                Block::Figures(_) => {}
            }
        }
        out
    }

    #[test]
    fn every_formula_of_the_report_has_its_translation_tested() {
        use crate::report::math::tests::FORMULAS;
        use crate::report::math::typst_from_tex;
        for activation in [Activation::Relu, Activation::Tanh, Activation::Sigmoid] {
            for optimizer in [
                OptimizerKind::Sgd,
                OptimizerKind::Nesterov,
                OptimizerKind::Adam,
                OptimizerKind::Adamw,
            ] {
                let mut run = crate::store::weights::tests::run();
                run.classifier.mlp.arch.activation = activation;
                run.config.optimizer = optimizer;
                let data = ReportData {
                    run,
                    weights_path: "w.bin".into(),
                    runs: vec![],
                    unreadable_runs: 0,
                    sweeps: vec![],
                    unreadable_sweeps: 0,
                    this_run: None,
                    this_run_exact: false,
                    has_confusion: true,
                    authors: vec![],
                    title: "t".into(),
                    date: "2026-01-02".into(),
                };
                for tex in formulas(&build(&data)) {
                    // A layer's shape, `6 \times 5`, is the one formula with numbers in it.
                    if let Some((a, b)) = tex.split_once(r" \times ")
                        && a.parse::<usize>().is_ok()
                        && b.parse::<usize>().is_ok()
                    {
                        assert_eq!(typst_from_tex(&tex), format!("{a} times {b}"));
                        continue;
                    }
                    assert!(
                        FORMULAS.iter().any(|(t, _)| *t == tex),
                        "{tex} is not in math::tests::FORMULAS"
                    );
                }
            }
        }
    }

    #[test]
    fn one_cycle_is_described_with_its_rise_and_no_linear_warm_up() {
        let config = TrainConfig {
            lr_schedule: Schedule::Onecycle,
            learning_rate: 0.5,
            ..TrainConfig::default()
        };
        let text = learning_rate_text(&config);
        assert!(text.contains("up from 0.02 to 0.5 at the end of the first 30% of the steps"));
        assert!(text.contains("the momentum is not cycled"), "{text}");
        let warmed = learning_rate_text(&TrainConfig {
            warmup_epochs: 2,
            ..config
        });
        assert!(
            warmed.contains("at the end of the first 2 epoch(s)"),
            "{warmed}"
        );
        assert!(!warmed.contains("linear warm-up"), "{warmed}");
        let constant = learning_rate_text(&TrainConfig {
            warmup_epochs: 2,
            ..TrainConfig::default()
        });
        assert!(
            constant.contains("after 2 epoch(s) of linear warm-up"),
            "{constant}"
        );
    }

    #[test]
    fn differences_are_flags() {
        let defaults = TrainConfig::default();
        assert!(differences(&defaults, &defaults).is_empty());
        let other = TrainConfig {
            hidden: vec![512, 256],
            learning_rate: 0.05,
            ..defaults.clone()
        };
        assert_eq!(
            differences(&other, &defaults),
            vec!["--hidden 512,256", "--lr 0.05"]
        );
    }
}
