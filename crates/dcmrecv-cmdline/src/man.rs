//! The manual page, rendered as roff (`man -l`) from the same option table as `--help`, so the
//! two cannot drift apart.

use crate::command_line::CommandLine;
use crate::layout::{self, Layout};

/// What a manual page has beyond the option table: its name and section, the version it
/// documents, a description, and further sections (exit status, files, see also...).
///
/// Paragraphs are plain text (escaped for roff here). A paragraph holding a tab is a tagged
/// paragraph: the text before the tab is the tag (an exit code, a file name), the rest its
/// description.
///
/// ```
/// use dcmrecv_cmdline::{CommandLine, ManPage, ManSection};
///
/// const TOOL: CommandLine = CommandLine::new("tool", "tool 1.0", "Does one thing");
/// const PAGE: ManPage = ManPage::new("tool", "1", "tool 1.0")
///     .description(&["Does one thing, well."])
///     .sections(&[ManSection::new("EXIT STATUS", &["0\tsuccess", "1\tbad command line"])]);
/// let roff = TOOL.man_page(&PAGE);
/// assert!(roff.starts_with(".TH TOOL 1 \"\" \"tool 1.0\""));
/// assert!(roff.contains(".SH EXIT STATUS\n.TP\n0\nsuccess\n"));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ManPage {
    name: &'static str,
    section: &'static str,
    source: &'static str,
    description: &'static [&'static str],
    sections: &'static [ManSection],
}

/// One section of a manual page after OPTIONS.
#[derive(Debug, Clone, Copy)]
pub struct ManSection {
    title: &'static str,
    paragraphs: &'static [&'static str],
}

impl ManSection {
    /// A section titled `title` (upper case by convention) with its paragraphs.
    pub const fn new(title: &'static str, paragraphs: &'static [&'static str]) -> ManSection {
        ManSection { title, paragraphs }
    }
}

impl ManPage {
    /// The page for command `name` in manual `section`, documenting `source` (a program name
    /// and version).
    pub const fn new(name: &'static str, section: &'static str, source: &'static str) -> ManPage {
        ManPage {
            name,
            section,
            source,
            description: &[],
            sections: &[],
        }
    }

    /// The DESCRIPTION paragraphs.
    pub const fn description(self, description: &'static [&'static str]) -> ManPage {
        ManPage {
            description,
            ..self
        }
    }

    /// The sections after OPTIONS.
    pub const fn sections(self, sections: &'static [ManSection]) -> ManPage {
        ManPage { sections, ..self }
    }
}

/// Escapes text for roff: backslashes and hyphens, and a leading `.` or `'`.
fn escape(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with('.') || escaped.starts_with('\'') {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

fn bold(text: &str) -> String {
    format!("\\fB{}\\fR", escape(text))
}

fn paragraphs(out: &mut String, paragraphs: &[&str]) {
    for paragraph in paragraphs {
        match paragraph.split_once('\t') {
            Some((tag, text)) => {
                out.push_str(&format!(".TP\n{}\n{}\n", escape(tag), escape(text)));
            }
            None => out.push_str(&format!(".PP\n{}\n", escape(paragraph))),
        }
    }
}

/// The page as roff.
pub(crate) fn render(cmd: &CommandLine, page: &ManPage) -> String {
    let mut out = format!(
        ".TH {} {} \"\" \"{}\" \"User Commands\"\n.SH NAME\n{} \\- {}\n.SH SYNOPSIS\n.B {}\n",
        escape(&page.name.to_uppercase()),
        page.section,
        escape(page.source),
        escape(page.name),
        escape(cmd.description()),
        escape(page.name),
    );
    let params: Vec<&str> = cmd.parameter_list().iter().map(|p| p.name()).collect();
    out.push_str(&format!(
        "[\\fIoptions\\fR] \\fI{}\\fR\n",
        escape(&params.join(" "))
    ));
    out.push_str(".SH DESCRIPTION\n");
    paragraphs(&mut out, page.description);
    out.push_str(".SH PARAMETERS\n");
    for param in cmd.parameter_list() {
        out.push_str(&format!(
            ".TP\n\\fI{}\\fR\n{}\n",
            escape(param.name()),
            escape(&param.help().join(" "))
        ));
    }
    out.push_str(".SH OPTIONS\n");
    for line in layout::flatten(cmd.layout_lines()) {
        match *line {
            Layout::Group(title) => {
                out.push_str(&format!(".SS {}\n", escape(title.trim_end_matches(':'))));
            }
            Layout::Subgroup(title) => out.push_str(&format!(".PP\n\\fI{}\\fR\n", escape(title))),
            Layout::Option(spec) if !spec.is_hidden() => {
                let mut tag: Vec<String> = spec.short().into_iter().map(bold).collect();
                tag.push(bold(spec.long()));
                let mut tag = tag.join(", ");
                let mut help = spec.help();
                if let (true, Some((values, rest))) = (spec.arity() > 0, help.split_first()) {
                    tag.push_str(&format!(" \\fI{}\\fR", escape(values)));
                    help = rest;
                }
                out.push_str(&format!(".TP\n{tag}\n"));
                for line in help {
                    out.push_str(&escape(line));
                    out.push('\n');
                }
            }
            Layout::Option(_) | Layout::Include(_) => {}
        }
    }
    for section in page.sections {
        out.push_str(&format!(".SH {}\n", escape(section.title)));
        paragraphs(&mut out, section.paragraphs);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_table::TOOL;

    #[test]
    fn the_page_has_every_visible_option_of_the_table() {
        const PAGE: ManPage = ManPage::new("dcmrecv-rs", "1", "dcmrecv-rs 1.0")
            .description(&[".starts with a dot", "C:\\path"]);
        let roff = TOOL.man_page(&PAGE);
        expect_test::expect![[r#"
            .TH DCMRECV\-RS 1 "" "dcmrecv\-rs 1.0" "User Commands"
            .SH NAME
            dcmrecv\-rs \- Simple DICOM storage SCP (receiver)
            .SH SYNOPSIS
            .B dcmrecv\-rs
            [\fIoptions\fR] \fIport\fR
            .SH DESCRIPTION
            .PP
            \&.starts with a dot
            .PP
            C:\epath
            .SH PARAMETERS
            .TP
            \fIport\fR
            tcp/ip port number to listen on
            .SH OPTIONS
            .SS general options
            .TP
            \fB\-h\fR, \fB\-\-help\fR
            print this help text and exit
            .TP
            \fB\-\-version\fR
            print version information and exit
            .TP
            \fB\-v\fR, \fB\-\-verbose\fR
            verbose mode, print processing details
            .TP
            \fB+v\fR, \fB\-\-verbose\-pc\fR
            show presentation contexts in verbose mode
            .SS network options
            .PP
            \fIassociation negotiation profile from configuration file:\fR
            .TP
            \fB\-xf\fR, \fB\-\-config\-file\fR \fI[f]ilename, [p]rofile: string\fR
            use profile p from configuration file f
            .PP
            \fIapplication entity title:\fR
            .TP
            \fB\-aet\fR, \fB\-\-aetitle\fR \fI[a]etitle: string\fR
            set my AE title
            .TP
            \fB\-pdu\fR, \fB\-\-max\-pdu\fR \fI[n]umber of bytes: integer (4096..131072)\fR
            .TP
            \fB+tls\fR, \fB\-\-enable\-tls\fR \fI[p]rivate key file, [c]ertificate file: string\fR
            use authenticated secure TLS connection
            .SS output options
            .TP
            \fB\-od\fR, \fB\-\-output\-directory\fR \fI[d]irectory: string (default: ".")\fR
            write received objects to existing directory d
            .TP
            \fB+ssd\fR, \fB\-\-series\-date\-subdir\fR
            generate subdirectories from series date
            .PP
            \fIstorage mode:\fR
            .TP
            \fB\-B\fR, \fB\-\-normal\fR
            allow implicit format conversions (default)
            .TP
            \fB+B\fR, \fB\-\-bit\-preserving\fR
            write dataset exactly as received
            .TP
            \fB\-\-ignore\fR
            ignore dataset, receive but do not store it
        "#]]
        .assert_eq(&roff);
        assert!(!roff.contains("print-config"), "hidden options stay hidden");
    }
}
