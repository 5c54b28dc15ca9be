//! The report's last section: the runs of the run log beside the reported one, and the
//! conclusions drawn from runs that differ in one setting.

use crate::report::doc::{Align, Block, Inline, Section, Table, code, column, para, strong, text};
use crate::report::facts::{
    MAX_RUNS_SHOWN, MAX_SETTINGS_SHOWN, ReportData, differences, duration, kept_epoch, percent,
    settings, thousands,
};
use crate::store::runlog::RunRecord;
use crate::store::sweeplog::{SettingSummary, SweepRecord, rank};
use crate::train::config::{Recipe, TrainConfig};

/// Runs on the same data set as the report's network, oldest first, with their 1-based
/// number in the log.
fn comparable_runs(data: &ReportData) -> Vec<(usize, &RunRecord)> {
    data.runs
        .iter()
        .enumerate()
        .filter(|(_, r)| r.same_data(&data.run.data))
        .map(|(i, r)| (i + 1, r))
        .collect()
}

/// The settings `mnist-mlp train` gives the data of run `r` without flags: its recipe's.
fn defaults_for(r: &RunRecord) -> TrainConfig {
    Recipe::for_dataset(r.dataset).config()
}

/// A setting as the sweep table names it: `config`'s differences from the defaults of its
/// data, the seed aside (each setting runs with several).
fn setting_label(config: &TrainConfig, defaults: &TrainConfig) -> String {
    let config = TrainConfig {
        seed: defaults.seed,
        ..config.clone()
    };
    match differences(&config, defaults).join(" ") {
        label if label.is_empty() => "defaults".to_string(),
        label => label,
    }
}

/// The sweep log's runs on the report's data, each with its `flags` replaced by its
/// [`setting_label`] (the sweep's own flags name differences from a base that other sweeps of
/// the same log may not share), keeping only the latest run of each setting and seed (a sweep
/// run again by another version logs its runs again).
fn labelled_sweeps(data: &ReportData) -> Vec<SweepRecord> {
    let mut latest: Vec<SweepRecord> = Vec::new();
    for r in &data.sweeps {
        let label = setting_label(&r.config, &Recipe::for_dataset(r.dataset).config());
        latest.retain(|l| !(l.flags == label && l.config.seed == r.config.seed));
        latest.push(SweepRecord {
            flags: label,
            ..r.clone()
        });
    }
    latest
}

/// The ranking of the `sweeps` as a paragraph and a table (its best [`MAX_SETTINGS_SHOWN`]
/// settings).
fn sweep_blocks(sweeps: &[SweepRecord], ranking: &[SettingSummary]) -> Vec<Block> {
    let mut held_out: Vec<usize> = sweeps.iter().map(|r| r.validation_images).collect();
    held_out.sort_unstable();
    held_out.dedup();
    let held_out: Vec<String> = held_out.iter().map(|&n| thousands(n)).collect();
    let shown = ranking.len().min(MAX_SETTINGS_SHOWN);
    let intro = format!(
        "Settings compared on validation images: {} run{} of ",
        sweeps.len(),
        if sweeps.len() == 1 { "" } else { "s" }
    );
    let rest = format!(
        " on this data set compared {} setting{}{}. Each run held out {} of the training \
         images and kept its best epoch on them; the test set was not read. Settings are \
         ranked by their mean validation accuracy over the seeds run.",
        ranking.len(),
        if ranking.len() == 1 { "" } else { "s" },
        if shown < ranking.len() {
            format!(" (the best {shown} are shown)")
        } else {
            String::new()
        },
        held_out.join(" or ")
    );
    let mut settings_column = column("settings (differences from the defaults)", Align::Left);
    settings_column.wide = true;
    let rows = (ranking.iter().take(shown).enumerate())
        .map(|(i, s)| {
            let seeds: Vec<String> = (s.seeds.iter().zip(&s.accuracies).zip(&s.best_epochs))
                .map(|((seed, accuracy), epoch)| {
                    format!("{seed}: {} ({epoch})", percent(*accuracy))
                })
                .collect();
            vec![
                vec![text((i + 1).to_string())],
                vec![code(s.flags.clone())],
                vec![text(percent(s.mean_accuracy))],
                vec![text(seeds.join(", "))],
                vec![text(duration(s.mean_wall_seconds))],
            ]
        })
        .collect();
    vec![
        para(vec![text(intro), code("mnist-mlp sweep"), text(rest)]),
        Block::Table(Table {
            columns: vec![
                column("rank", Align::Right),
                settings_column,
                column("validation", Align::Right),
                column("seed: accuracy (best epoch)", Align::Left),
                column("time per run", Align::Right),
            ],
            rows,
        }),
    ]
}

pub fn attempts_section(data: &ReportData) -> Section {
    let mut blocks = Vec::new();
    let total = data.runs.len();
    if total == 0 {
        blocks.push(para(vec![
            text("The run log holds no runs yet: every "),
            code("mnist-mlp train"),
            text(" appends one line to it, and the next report lists them here."),
        ]));
    } else {
        let mut shown: Vec<usize> = (total.saturating_sub(MAX_RUNS_SHOWN)..total).collect();
        if let Some(i) = data.this_run.filter(|i| !shown.contains(i)) {
            shown.remove(0);
            shown.insert(0, i);
        }
        let rows = shown
            .iter()
            .map(|&i| {
                let r = &data.runs[i];
                let mut changes = differences(&r.config, &defaults_for(r));
                if !r.same_data(&data.run.data) {
                    changes.insert(
                        0,
                        match r.dataset {
                            Some(d) => format!("--dataset {d}"),
                            None if r.data_name.is_empty() => "--data-dir (unrecognised)".into(),
                            None => format!("--data-dir {}", r.data_name),
                        },
                    );
                }
                let changes = if changes.is_empty() {
                    vec![text("defaults")]
                } else {
                    vec![code(changes.join(" "))]
                };
                let number = if Some(i) == data.this_run {
                    strong(format!("{} (this)", i + 1))
                } else {
                    text((i + 1).to_string())
                };
                vec![
                    vec![number],
                    vec![text(
                        r.timestamp
                            .get(..16)
                            .unwrap_or(&r.timestamp)
                            .replace('T', " "),
                    )],
                    changes,
                    vec![text(r.architecture.clone())],
                    vec![text(format!("{}/{}", r.kept_epoch, r.epochs_run))],
                    vec![text(percent(r.train_accuracy))],
                    vec![text(percent(r.test_accuracy))],
                    vec![text(duration(r.wall_seconds))],
                ]
            })
            .collect();
        let mut settings_column = column("settings (differences from the defaults)", Align::Left);
        settings_column.wide = true;
        let intro = if total > shown.len() {
            format!(
                "The run log holds {total} runs; the table shows the latest {}. ",
                shown.len()
            )
        } else {
            format!(
                "The run log holds {total} run{}. ",
                if total == 1 { "" } else { "s" }
            )
        };
        blocks.push(para(vec![
            text(format!("{intro}Each line is one ")),
            code("mnist-mlp train"),
            text(
                ": its settings where they differ from the defaults, kept/run epochs, and the \
                 kept network's accuracies; time is the whole command.",
            ),
        ]));
        blocks.push(Block::Table(Table {
            columns: vec![
                column("run", Align::Left),
                column("finished (UTC)", Align::Left),
                settings_column,
                column("network", Align::Left),
                column("epochs", Align::Right),
                column("train", Align::Right),
                column("test", Align::Right),
                column("time", Align::Right),
            ],
            rows,
        }));
    }
    if data.unreadable_runs > 0 {
        blocks.push(para(vec![text(format!(
            "({} line(s) of the run log could not be read and are left out.)",
            data.unreadable_runs
        ))]));
    }
    let sweeps = labelled_sweeps(data);
    let ranking = rank(&sweeps);
    if !ranking.is_empty() {
        blocks.extend(sweep_blocks(&sweeps, &ranking));
    }
    if data.unreadable_sweeps > 0 {
        blocks.push(para(vec![text(format!(
            "({} line(s) of the sweep log could not be read and are left out.)",
            data.unreadable_sweeps
        ))]));
    }
    blocks.push(para(conclusions(data, &ranking)));
    Section {
        title: "Attempts and conclusions".into(),
        blocks,
    }
}

/// A short, honest reading of the run log: single-setting comparisons first, then the best
/// run against the defaults, with the caveats that apply, and what the sweep's `ranking`
/// chose on validation images.
pub fn conclusions(data: &ReportData, ranking: &[SettingSummary]) -> Vec<Inline> {
    let runs = comparable_runs(data);
    let mut out = vec![strong("Conclusions."), text(" ")];
    let run = &data.run;
    let kept = run.history.iter().find(|m| m.epoch == kept_epoch(run));
    if let Some(k) = kept {
        out.push(text(format!(
            "The network reported here reaches {} test accuracy{}. ",
            percent(k.test_accuracy),
            if k.test_accuracy >= 0.75 {
                ", above the homework's 75%"
            } else {
                ", below the homework's 75%"
            }
        )));
    }
    if let Some(top) = ranking.first() {
        let over = match top.seeds.as_slice() {
            [seed] => format!("on seed {seed}"),
            seeds => format!("mean over {} seeds", seeds.len()),
        };
        out.push(text(format!(
            "On validation images the sweep ranked first {} ({} {over}). ",
            top.flags,
            percent(top.mean_accuracy),
        )));
        let defaults = Recipe::for_dataset(run.data.dataset).config();
        let reported = setting_label(&run.config, &defaults);
        match ranking.iter().position(|s| s.flags == reported) {
            Some(0) => out.push(text("The network reported here has that setting. ")),
            Some(i) => out.push(text(format!(
                "The network reported here has the setting ranked {}. ",
                i + 1
            ))),
            None => out.push(text(
                "The network reported here has a setting the sweep did not compare. ",
            )),
        }
    }
    if runs.len() < 2 {
        out.push(text(format!(
            "The run log holds {} run{} on this data set: too few to say what changes the \
             accuracy. Train with other settings (each run is logged) and regenerate the report.",
            runs.len(),
            if runs.len() == 1 { "" } else { "s" }
        )));
        return out;
    }
    // Pairs of runs that differ in exactly one setting.
    let mut effects: Vec<(String, String, f64, usize, usize)> = Vec::new();
    // The largest change between runs that differ in the seed only, if any do.
    let mut seed_spread: Option<f64> = None;
    for (a, (na, ra)) in runs.iter().enumerate() {
        for (nb, rb) in &runs[a + 1..] {
            let diff: Vec<_> = settings(&ra.config)
                .into_iter()
                .zip(settings(&rb.config))
                .filter(|(x, y)| x.1 != y.1)
                .collect();
            if let [((flag, from), (_, to))] = diff.as_slice() {
                let delta = rb.test_accuracy - ra.test_accuracy;
                if *flag == "seed" {
                    seed_spread = Some(seed_spread.unwrap_or(0.0).max(delta.abs()));
                } else {
                    effects.push((flag.to_string(), format!("{from} → {to}"), delta, *na, *nb));
                }
            }
        }
    }
    effects.sort_by(|a, b| b.2.abs().total_cmp(&a.2.abs()));
    if effects.is_empty() {
        out.push(text(
            "No two runs of the log differ in exactly one setting, so no difference can be \
             put down to a single setting. ",
        ));
    } else {
        let sentences: Vec<String> = effects
            .iter()
            .take(3)
            .map(|(flag, change, delta, a, b)| {
                format!(
                    "--{flag} {change} moved test accuracy by {:+.2} points (runs {a} and {b})",
                    100.0 * delta
                )
            })
            .collect();
        out.push(text(format!(
            "Between runs that differ in one setting only: {}. ",
            sentences.join("; ")
        )));
    }
    match seed_spread {
        Some(spread) if spread > 0.0 => out.push(text(format!(
            "Changing only the seed moved it by up to {:.2} points, so smaller differences \
             are noise. ",
            100.0 * spread
        ))),
        Some(_) => out.push(text(
            "Changing only the seed did not move it; other runs of one seed may still differ \
             by noise. ",
        )),
        None => out.push(text(
            "Each setting was run with one seed only, so differences of about 0.1 points may \
             be noise. ",
        )),
    }
    let best = runs
        .iter()
        .max_by(|a, b| a.1.test_accuracy.total_cmp(&b.1.test_accuracy));
    if let Some((n, best)) = best {
        let changes = differences(&best.config, &defaults_for(best));
        let what = if changes.is_empty() {
            "the default settings".to_string()
        } else {
            changes.join(" ")
        };
        out.push(text(format!(
            "The most accurate run is run {n} ({}, {}) with {what}",
            percent(best.test_accuracy),
            best.architecture
        )));
        let default_run = runs.iter().rev().find(|(_, r)| r.config == defaults_for(r));
        match default_run {
            Some((d, r)) if d != n => out.push(text(format!(
                "; the defaults gave {} (run {d}). ",
                percent(r.test_accuracy)
            ))),
            _ => out.push(text(". ")),
        }
    }
    out.push(text(
        "Picking the best run by its test accuracy uses the test set to choose; a validation \
         split (--val-split) would keep the test figure unbiased.",
    ));
    out
}
