//! The homework's hand-in as one zip: the report as a PDF with the students' names, the
//! weights as a PyTorch `.pkl` with the `evaluate_hw1.py` that grades them, the code that
//! trained them, and how to run it. Everything is checked and built in memory first, so a
//! refusal writes nothing.

use std::io::{self, Cursor, Write};
use std::path::{Path, PathBuf};

use zip::write::SimpleFileOptions;

use crate::report::{self, ReportError, ReportInputs};
use crate::store::export::{self, ExportFormat, ExportProblem, SCRIPT_NAME};
use crate::store::weights::{self, SavedRun, WeightsError};
use crate::train::config::TrainConfig;

/// The weights in the zip, as `evaluate_hw1.py` finds them.
pub const PKL_NAME: &str = "weights.pkl";
/// The folder of the zip that holds the code.
const CODE_DIR: &str = "code";
/// The project's folders of code handed in: the crate, and the benchmark `Cargo.toml` names
/// (without it cargo refuses to build).
const CODE_FOLDERS: [&str; 2] = ["src", "benches"];
/// The pages the homework allows the report.
pub const MAX_PAGES: usize = 2;
/// Example names of the documentation, which a hand-in never carries.
const PLACEHOLDER_AUTHORS: [&str; 4] = [
    "Your Name, your ID",
    "Partner's Name, their ID",
    "Ada Lovelace, 000000001",
    "Alan Turing, 000000002",
];

/// What a hand-in is made from: the report's inputs, and the project folder whose `src/`,
/// `benches/`, `Cargo.toml`, `Cargo.lock` and `README.md` are the code handed in.
#[derive(Debug, Clone)]
pub struct HandinInputs {
    pub report: ReportInputs,
    pub project: PathBuf,
}

/// A hand-in built in memory: the zip's bytes, what it holds, and the report's page count.
#[derive(Debug)]
pub struct Handin {
    pub zip: Vec<u8>,
    pub entries: Vec<String>,
    pub pages: usize,
}

/// Why no hand-in was made.
#[derive(Debug, thiserror::Error)]
pub enum HandinError {
    #[error(
        "a hand-in needs the students' names and IDs: pass --author \"Full Name, ID\" for \
         each (the homework is done in pairs)"
    )]
    NoAuthor,
    #[error(
        "--author \"{0}\" is the documentation's example, not a student: pass your own names \
         and IDs"
    )]
    PlaceholderAuthor(String),
    #[error(
        "the hand-in's report.pdf needs mnist-mlp built with the `pdf` feature: run \
         `cargo run --release --features pdf -- handin …` (the same flags)"
    )]
    NoPdf,
    #[error(transparent)]
    Weights(#[from] WeightsError),
    #[error(transparent)]
    Report(#[from] ReportError),
    #[error(
        "the report has {0} pages and the homework allows {MAX_PAGES}: shorten the run log it \
         lists (--run-log) or leave out the confusion picture (--confusion)"
    )]
    TooLong(usize),
    #[error(transparent)]
    Export(#[from] ExportProblem),
    #[error(
        "{} is not the mnist-mlp project folder (no Cargo.toml naming mnist-mlp): run handin \
         from the project folder, or pass --project",
        .0.display()
    )]
    NotProject(PathBuf),
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot build the zip: {0}")]
    Zip(#[from] zip::result::ZipError),
}

/// Checks the inputs and builds the hand-in, touching no file outside a temporary folder.
pub fn build(inputs: &HandinInputs) -> Result<Handin, HandinError> {
    let authors = &inputs.report.authors;
    if authors.is_empty() {
        return Err(HandinError::NoAuthor);
    }
    if let Some(example) = authors
        .iter()
        .find(|a| PLACEHOLDER_AUTHORS.contains(&a.trim()))
    {
        return Err(HandinError::PlaceholderAuthor(example.clone()));
    }
    if !cfg!(feature = "pdf") {
        return Err(HandinError::NoPdf);
    }
    let run = weights::load(&inputs.report.weights)?;
    let code = code_files(&inputs.project)?;
    let (pdf, pages) = report_pdf(&inputs.report)?;
    if pages > MAX_PAGES {
        return Err(HandinError::TooLong(pages));
    }
    let mut files: Vec<(String, Vec<u8>)> = vec![
        ("report.pdf".into(), pdf),
        (PKL_NAME.into(), export::encode(&run, ExportFormat::Pkl)?),
        (
            SCRIPT_NAME.into(),
            export::evaluate_hw1_script(&run, PKL_NAME).into_bytes(),
        ),
        ("HOW_TO_RUN.txt".into(), how_to_run(&run).into_bytes()),
    ];
    files.extend(code);
    let entries = files.iter().map(|(name, _)| name.clone()).collect();
    Ok(Handin {
        zip: zip_bytes(&files)?,
        entries,
        pages,
    })
}

/// The report's PDF and its page count, typeset in a temporary folder.
fn report_pdf(inputs: &ReportInputs) -> Result<(Vec<u8>, usize), HandinError> {
    let scratch = tempfile::tempdir().map_err(|source| HandinError::Read {
        path: std::env::temp_dir(),
        source,
    })?;
    let written = report::write_report(inputs, scratch.path())?;
    let (path, pages) = written.pdf.ok_or(HandinError::NoPdf)?;
    let pdf = read(&path)?;
    Ok((pdf, pages))
}

/// The code handed in: `Cargo.toml`, `Cargo.lock`, `README.md`, then every file of
/// [`CODE_FOLDERS`] (sorted), under `code/`.
fn code_files(project: &Path) -> Result<Vec<(String, Vec<u8>)>, HandinError> {
    let manifest = project.join("Cargo.toml");
    let is_project =
        std::fs::read_to_string(&manifest).is_ok_and(|text| text.contains("name = \"mnist-mlp\""));
    if !is_project {
        return Err(HandinError::NotProject(project.to_path_buf()));
    }
    let mut paths = Vec::new();
    for dir in CODE_FOLDERS {
        collect_files(&project.join(dir), &mut paths)?;
    }
    paths.sort();
    let top = ["Cargo.toml", "Cargo.lock", "README.md"].map(|name| project.join(name));
    let mut files = Vec::new();
    for path in top.iter().chain(&paths) {
        let relative = path.strip_prefix(project).unwrap_or(path);
        let name = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        files.push((format!("{CODE_DIR}/{name}"), read(path)?));
    }
    Ok(files)
}

/// Every file below `dir`, depth first.
fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), HandinError> {
    let failed = |source| HandinError::Read {
        path: dir.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(failed)? {
        let path = entry.map_err(failed)?.path();
        if path.is_dir() {
            collect_files(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

fn read(path: &Path) -> Result<Vec<u8>, HandinError> {
    std::fs::read(path).map_err(|source| HandinError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// `HOW_TO_RUN.txt`: the command that trained the network, with every setting the weights
/// file records (so that it does not depend on the defaults of a later version), and how
/// to grade it.
pub fn how_to_run(run: &SavedRun) -> String {
    let train = train_command(&run.config);
    format!(
        "The network in {PKL_NAME} is {arch}, trained on {data} by mnist-mlp (Rust; the code is \
         in {CODE_DIR}/).\n\
         \n\
         Train it again (from {CODE_DIR}/, with Rust installed; the MNIST files are downloaded \
         into data/mnist):\n\
         \n    {train}\n\n\
         That writes weights/mnist-mlp.bin; its test accuracy:\n\
         \n    cargo run --release -- evaluate-hw1\n\n\
         Grade the handed-in weights with Python: put t10k-images-idx3-ubyte.gz and \
         t10k-labels-idx1-ubyte.gz beside {SCRIPT_NAME} and {PKL_NAME}, then\n\
         \n    python3 {SCRIPT_NAME}\n\n\
         or call evaluate_hw1() from it. It uses PyTorch where it is installed, else NumPy.\n",
        arch = run.classifier.mlp.arch.describe(),
        data = run.data.describe(),
    )
}

/// `cargo run --release -- train` with every setting of `config` as a flag.
fn train_command(config: &TrainConfig) -> String {
    let flags: Vec<String> = config
        .settings()
        .into_iter()
        .filter(|(_, value)| value != "off")
        .map(|(flag, value)| format!("--{flag} {value}"))
        .collect();
    format!("cargo run --release -- train {}", flags.join(" "))
}

/// The zip of `files`, deflated, with a fixed timestamp so that the same inputs give the
/// same bytes.
fn zip_bytes(files: &[(String, Vec<u8>)]) -> Result<Vec<u8>, HandinError> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o644);
    for (name, bytes) in files {
        zip.start_file(name.as_str(), options)?;
        zip.write_all(bytes).map_err(zip::result::ZipError::Io)?;
    }
    Ok(zip.finish()?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_training_command_gives_every_setting() {
        let config = TrainConfig {
            hidden: vec![512, 256],
            clip_grad_norm: Some(1.5),
            ..TrainConfig::default()
        };
        let command = train_command(&config);
        for flag in [
            "--hidden 512,256",
            "--clip-grad-norm 1.5",
            "--epochs 20",
            "--seed 42",
        ] {
            assert!(command.contains(flag), "{flag} missing: {command}");
        }
        assert!(!command.contains("max-norm"), "{command}");
        assert!(command.starts_with("cargo run --release -- train --epochs"));
    }

    #[test]
    fn the_zip_holds_the_files_in_order_and_reads_back() {
        let files = vec![
            ("a.txt".to_string(), b"alpha".to_vec()),
            ("code/src/b.rs".to_string(), b"fn main() {}".to_vec()),
        ];
        let bytes = zip_bytes(&files).unwrap();
        assert_eq!(bytes, zip_bytes(&files).unwrap(), "deterministic");
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        for (i, (name, content)) in files.iter().enumerate() {
            let mut entry = archive.by_index(i).unwrap();
            assert_eq!(entry.name().unwrap(), name.as_str());
            let mut read = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut read).unwrap();
            assert_eq!(&read, content);
        }
    }

    #[test]
    fn refusals_come_before_any_work() {
        let inputs = HandinInputs {
            report: ReportInputs {
                weights: "missing.bin".into(),
                confusion: "none.png".into(),
                run_log: "none.jsonl".into(),
                sweep_log: "none-sweeps.jsonl".into(),
                authors: vec![],
                title: "t".into(),
                date: "2026-11-30".into(),
            },
            project: ".".into(),
        };
        let with_authors = |authors: &[&str]| HandinInputs {
            report: ReportInputs {
                authors: authors.iter().map(|a| a.to_string()).collect(),
                ..inputs.report.clone()
            },
            ..inputs.clone()
        };
        assert!(matches!(build(&inputs), Err(HandinError::NoAuthor)));
        let example = with_authors(&["Ada Lovelace, 000000001"]);
        assert!(matches!(
            build(&example),
            Err(HandinError::PlaceholderAuthor(_))
        ));
        let student = with_authors(&["Grace Hopper, 123"]);
        match build(&student) {
            Err(HandinError::NoPdf) if !cfg!(feature = "pdf") => {}
            Err(HandinError::Weights(e)) if cfg!(feature = "pdf") => {
                assert!(e.to_string().contains("missing.bin"))
            }
            other => panic!("{other:?}"),
        }
    }
}
