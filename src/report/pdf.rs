//! The report as a PDF, typeset in-process by the typst compiler used as a library (feature
//! `pdf`): a [`typst::World`] that holds the generated source, the pictures as bytes and the
//! fonts embedded in `typst-assets`, so nothing is read from the machine or the network.

use std::collections::HashMap;

use typst::diag::{FileError, FileResult, SourceDiagnostic};
use typst::foundations::{Bytes, Datetime};
use typst::layout::PagedDocument;
use typst::syntax::{FileId, Source, VirtualPath};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};

/// A report that typst could not typeset (a bug in the generated source, not the user's).
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("typst could not typeset the report: {0}")]
    Typeset(String),
    #[error("typst could not write the PDF: {0}")]
    Export(String),
}

/// A typeset report.
pub struct Typeset {
    pub pdf: Vec<u8>,
    pub pages: usize,
}

/// Everything the compiler may see: one main source, the pictures, the embedded fonts.
struct ReportWorld {
    library: LazyHash<Library>,
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
    main: Source,
    files: HashMap<FileId, Bytes>,
    today: Option<Datetime>,
}

impl ReportWorld {
    fn new(source: &str, pictures: &[(String, Vec<u8>)], date: &str) -> Self {
        let fonts: Vec<Font> = typst_assets::fonts()
            .flat_map(|data| Font::iter(Bytes::new(data)))
            .collect();
        let main_id = FileId::new(None, VirtualPath::new("report.typ"));
        let files = pictures
            .iter()
            .map(|(name, bytes)| {
                (
                    FileId::new(None, VirtualPath::new(name)),
                    Bytes::new(bytes.clone()),
                )
            })
            .collect();
        ReportWorld {
            library: LazyHash::new(Library::default()),
            book: LazyHash::new(FontBook::from_fonts(&fonts)),
            fonts,
            main: Source::new(main_id, source.to_string()),
            files,
            today: parse_date(date),
        }
    }
}

/// "2026-11-27" → typst's date.
fn parse_date(date: &str) -> Option<Datetime> {
    let mut parts = date.splitn(3, '-');
    let year = parts.next()?.parse().ok()?;
    let month = parts.next()?.parse().ok()?;
    let day = parts.next()?.parse().ok()?;
    Datetime::from_ymd(year, month, day)
}

impl World for ReportWorld {
    fn library(&self) -> &LazyHash<Library> {
        &self.library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &self.book
    }

    fn main(&self) -> FileId {
        self.main.id()
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main.id() {
            Ok(self.main.clone())
        } else {
            Err(FileError::NotFound(id.vpath().as_rootless_path().into()))
        }
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        self.files
            .get(&id)
            .cloned()
            .ok_or_else(|| FileError::NotFound(id.vpath().as_rootless_path().into()))
    }

    fn font(&self, index: usize) -> Option<Font> {
        self.fonts.get(index).cloned()
    }

    fn today(&self, _offset: Option<i64>) -> Option<Datetime> {
        self.today
    }
}

fn describe(world: &ReportWorld, diagnostics: &[SourceDiagnostic]) -> String {
    diagnostics
        .iter()
        .map(|d| {
            let line = d
                .span
                .id()
                .filter(|id| *id == world.main.id())
                .and_then(|_| world.main.range(d.span))
                .and_then(|range| world.main.lines().byte_to_line(range.start))
                .map_or_else(String::new, |l| format!("line {}: ", l + 1));
            let hints: String = d.hints.iter().map(|h| format!(" (hint: {h})")).collect();
            format!("{line}{}{hints}", d.message)
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Typesets typst `source` (which may use the `pictures`, by file name) into a PDF.
pub fn typeset(
    source: &str,
    pictures: &[(String, Vec<u8>)],
    date: &str,
) -> Result<Typeset, PdfError> {
    let world = ReportWorld::new(source, pictures, date);
    let document: PagedDocument = typst::compile(&world)
        .output
        .map_err(|errors| PdfError::Typeset(describe(&world, &errors)))?;
    let pdf = typst_pdf::pdf(&document, &typst_pdf::PdfOptions::default())
        .map_err(|errors| PdfError::Export(describe(&world, &errors)))?;
    Ok(Typeset {
        pdf,
        pages: document.pages.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_document_typesets_and_errors_name_the_line() {
        let out = typeset("= Hi\n$ (partial L)/(partial w) $", &[], "2026-01-02").unwrap();
        assert!(out.pdf.starts_with(b"%PDF"));
        assert_eq!(out.pages, 1);
        let err = typeset("ok\n#image(\"missing.png\")", &[], "2026-01-02")
            .err()
            .unwrap();
        assert!(err.to_string().contains("line 2"), "{err}");
    }
}
