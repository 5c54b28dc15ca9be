//! `mnist-mlp export`: the weights for Python (.npz, .safetensors, .pkl with its evaluate_hw1.py).

use std::io::Write;

use crate::cli::args::ExportArgs;
use crate::io::outputs::{FileArg, check_outputs};
use crate::store::export::{self, ExportFormat};
use crate::store::weights::{self};

pub fn export_command(args: &ExportArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let format = ExportFormat::resolve(args.format, &args.output)?;
    let script = export::evaluate_script_path(&args.output);
    let mut files = vec![
        FileArg::read("--weights", &args.weights),
        FileArg::replaced("--output", &args.output),
    ];
    if format == ExportFormat::Pkl {
        files.push(FileArg::replaced("its evaluate_hw1 script", &script));
    }
    check_outputs(&files)?;
    let run = weights::load(&args.weights)?;
    export::export(&run, format, &args.output)?;
    writeln!(
        out,
        "wrote {} ({}, {})",
        args.output.display(),
        format.extension(),
        run.classifier.mlp.arch.describe()
    )?;
    if format == ExportFormat::Pkl {
        let script = export::write_evaluate_script(&run, &args.output)?;
        writeln!(
            out,
            "wrote {} (evaluate_hw1() for it: put the MNIST test files beside both, run python3 {})",
            script.display(),
            export::SCRIPT_NAME
        )?;
    }
    Ok(())
}
