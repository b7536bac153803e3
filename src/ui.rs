//! Messages on stderr: `error:`, `warning:`, `note:` and `help:` prefixes, coloured when wanted;
//! and every line gpu-ci prints, with what came from the project escaped.
//!
//! Project text (a key's name, a value, a path, a file's lines) reaches these messages, and a
//! pull request writes it: a control, C1 or bidirectional-override character in it could rewrite
//! what the terminal shows (move the cursor, recolour, reorder a line). Every printing function
//! here escapes them, so no call site has to remember (issue 20).

use std::borrow::Cow;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use clap::ValueEnum;

static COLOR: AtomicBool = AtomicBool::new(false);
static VERBOSITY: AtomicU8 = AtomicU8::new(Verbosity::Normal as u8);
/// Whether the last message was shown: a `help:` line follows what it helps with, or nothing.
static LAST_SHOWN: AtomicBool = AtomicBool::new(true);

/// How much gpu-ci says on stderr: `-q` errors only, `-v` every note. stdout (diffs, JSON,
/// `config`'s table) is the command's output and is never cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    Quiet = 0,
    Normal = 1,
    Verbose = 2,
}

pub fn set_verbosity(verbosity: Verbosity) {
    VERBOSITY.store(verbosity as u8, Ordering::Relaxed);
}

pub fn verbosity() -> Verbosity {
    match VERBOSITY.load(Ordering::Relaxed) {
        0 => Verbosity::Quiet,
        1 => Verbosity::Normal,
        _ => Verbosity::Verbose,
    }
}

fn quiet() -> bool {
    verbosity() == Verbosity::Quiet
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// Decides once, from the flag and the usual variables (NO_COLOR, FORCE_COLOR, CLICOLOR_FORCE).
pub fn init(choice: ColorChoice) {
    let set = |name: &str| std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0");
    let on = match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto if set("FORCE_COLOR") || set("CLICOLOR_FORCE") => true,
        ColorChoice::Auto if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) => false,
        ColorChoice::Auto => std::io::stderr().is_terminal(),
    };
    COLOR.store(on, Ordering::Relaxed);
}

/// `label:` in bold `ansi` colour when colour is on.
/// Whether gpu-ci colours its output (decided once by [`init`]).
pub fn color() -> bool {
    COLOR.load(Ordering::Relaxed)
}

fn prefix(label: &str, ansi: &str) -> String {
    if COLOR.load(Ordering::Relaxed) {
        format!("\x1b[1;{ansi}m{label}:\x1b[0m")
    } else {
        format!("{label}:")
    }
}

/// `text` in the `ansi` colour when colour is on, for marks on stdout (`gpu-ci doctor`).
pub fn paint(text: &str, ansi: &str) -> String {
    if COLOR.load(Ordering::Relaxed) {
        format!("\x1b[{ansi}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// Whether a terminal could act on `c` rather than show it: C0 and C1 controls, DEL, and the
/// bidirectional embeddings, overrides, isolates and marks (U+202A–202E, U+2066–2069,
/// U+200E/200F, U+061C), and the line and paragraph separators U+2028/2029 (a line break to
/// some terminals and viewers).
fn is_hostile(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
        || matches!(
            c,
            '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{2028}' | '\u{2029}'
        )
}

/// `text` with every hostile character but those `keep` allows written as `\u{…}` (a tab as
/// itself): what a message shows of the project's text.
fn escape(text: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !text.chars().any(|c| is_hostile(c) && !keep(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_hostile(c) && !keep(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// One line of a message: every hostile character escaped, line breaks included, so a value
/// cannot add a line that looks like gpu-ci's (a fake `help:`).
pub fn escaped(text: &str) -> Cow<'_, str> {
    escape(text, |c| c == '\t')
}

/// Text of several lines (a diff, a report): hostile characters escaped, line breaks kept.
pub fn escaped_lines(text: &str) -> Cow<'_, str> {
    escape(text, |c| c == '\t' || c == '\n')
}

/// JSON text as `serde_json` writes it, with the characters it leaves raw (C1, DEL, bidi) as
/// `\uXXXX` escapes: the same JSON value, shown inert. They only occur inside strings.
pub fn escaped_json(json: &str) -> Cow<'_, str> {
    if !json.chars().any(is_hostile) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 8);
    for c in json.chars() {
        if is_hostile(c) && c != '\n' {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A line on stdout, escaped as [`escaped_lines`].
pub fn out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{}", escaped_lines(text));
}

/// A line on stderr without a prefix, escaped as [`escaped_lines`]; not with `-q`.
pub fn plain(text: &str) {
    LAST_SHOWN.store(!quiet(), Ordering::Relaxed);
    if !quiet() {
        eprintln!("{}", escaped_lines(text));
    }
}

pub fn error(message: &str) {
    LAST_SHOWN.store(true, Ordering::Relaxed);
    eprintln!("{} {}", prefix("error", "31"), escaped(message));
}

/// Not with `-q`.
pub fn warning(message: &str) {
    LAST_SHOWN.store(!quiet(), Ordering::Relaxed);
    if !quiet() {
        eprintln!("{} {}", prefix("warning", "33"), escaped(message));
    }
}

/// Not with `-q`.
pub fn note(message: &str) {
    LAST_SHOWN.store(!quiet(), Ordering::Relaxed);
    if !quiet() {
        eprintln!("{} {}", prefix("note", "36"), escaped(message));
    }
}

/// Shown when the message before it was (with `-q`, only an error's help).
pub fn help(message: &str) {
    if LAST_SHOWN.load(Ordering::Relaxed) {
        eprintln!("{} {}", prefix("help", "32"), escaped(message));
    }
}

/// How long a wait goes unannounced: shorter ones show nothing.
const QUIET_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// A spinner with what gpu-ci is waiting for and the time it has waited, on stderr, only when
/// stderr is a terminal and only once the wait has passed `QUIET_WAIT`; cleared when this value
/// drops. Piped output and CI logs get nothing.
pub struct Waiting {
    bar: Option<indicatif::ProgressBar>,
    shown: Option<std::sync::mpsc::Sender<()>>,
    done: std::sync::Arc<std::sync::Mutex<bool>>,
}

impl Waiting {
    pub fn start(what: &str) -> Waiting {
        if !std::io::stderr().is_terminal() {
            return Waiting {
                bar: None,
                shown: None,
                done: std::sync::Arc::default(),
            };
        }
        let bar =
            indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::hidden());
        let style = indicatif::ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner());
        bar.set_style(style);
        bar.set_message(escaped(what).into_owned());
        let (cancel, cancelled) = std::sync::mpsc::channel::<()>();
        let done = std::sync::Arc::new(std::sync::Mutex::new(false));
        let (later, over) = (bar.clone(), std::sync::Arc::clone(&done));
        std::thread::spawn(move || {
            if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                cancelled.recv_timeout(QUIET_WAIT)
                && let Ok(over) = over.lock()
                && !*over
            {
                later.set_draw_target(indicatif::ProgressDrawTarget::stderr());
                later.enable_steady_tick(std::time::Duration::from_millis(100));
            }
        });
        Waiting {
            bar: Some(bar),
            shown: Some(cancel),
            done,
        }
    }

    /// Whether it shows (once the wait is long enough): stderr is a terminal.
    pub fn on_terminal(&self) -> bool {
        self.bar.is_some()
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        drop(self.shown.take());
        // Under the lock, so that the spinner is never shown after it was cleared.
        let mut over = self
            .done
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *over = true;
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        drop(over);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_characters_are_escaped_and_nothing_else() {
        let text = "key\u{1b}[2J\u{9b}31m\u{202e}gnp.exe\u{2066}\u{200f}\u{61c}\u{7f}\r\n\tü✓";
        assert_eq!(
            escaped(text),
            "key\\u{1b}[2J\\u{9b}31m\\u{202e}gnp.exe\\u{2066}\\u{200f}\\u{61c}\\u{7f}\\u{d}\\u{a}\tü✓"
        );
        assert!(escaped_lines("a\nb\u{1b}").ends_with("a\nb\\u{1b}"));
        assert!(matches!(escaped("plain `text` ✓"), Cow::Borrowed(_)));
        let json = serde_json::to_string("\u{202e}\u{85}\u{1b}\n").unwrap();
        let shown = escaped_json(&json);
        assert_eq!(shown, "\"\\u202e\\u0085\\u001b\\n\"");
        assert_eq!(
            serde_json::from_str::<String>(&shown).unwrap(),
            "\u{202e}\u{85}\u{1b}\n"
        );
    }
}
