//! Messages on stderr: `error:`, `warning:`, `note:` and `help:` prefixes, coloured when wanted.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::ValueEnum;

static COLOR: AtomicBool = AtomicBool::new(false);

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

pub fn error(message: &str) {
    eprintln!("{} {message}", prefix("error", "31"));
}

pub fn warning(message: &str) {
    eprintln!("{} {message}", prefix("warning", "33"));
}

pub fn note(message: &str) {
    eprintln!("{} {message}", prefix("note", "36"));
}

pub fn help(message: &str) {
    eprintln!("{} {message}", prefix("help", "32"));
}
