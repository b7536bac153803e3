//! Command lines as Python's `shlex` reads and writes them: test-path, pytest-args and pytest's
//! addopts are split as the runner splits them, and values reach a shell quoted.

/// Splits a command line as Python's `shlex.split` does (the runner's splitter): words, `'…'`
/// literal, `"…"` where a backslash escapes only `"` and `\\`, a backslash outside quotes
/// escaping any character, `#` an ordinary character. The error says what is malformed.
pub fn split(text: &str) -> Result<Vec<String>, &'static str> {
    #[derive(PartialEq)]
    enum State {
        Between,
        Word,
        Single,
        Double,
    }
    let mut words = Vec::new();
    let mut word = String::new();
    let mut state = State::Between;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match state {
            State::Between | State::Word => match c {
                ' ' | '\t' | '\r' | '\n' => {
                    if state == State::Word {
                        words.push(std::mem::take(&mut word));
                        state = State::Between;
                    }
                }
                '\'' => state = State::Single,
                '"' => state = State::Double,
                '\\' => {
                    word.push(chars.next().ok_or("a backslash at the end")?);
                    state = State::Word;
                }
                _ => {
                    word.push(c);
                    state = State::Word;
                }
            },
            State::Single if c == '\'' => state = State::Word,
            State::Double if c == '"' => state = State::Word,
            State::Double if c == '\\' => match chars.next() {
                Some(escaped @ ('"' | '\\')) => word.push(escaped),
                Some(other) => word.extend(['\\', other]),
                None => return Err("a quote left open"),
            },
            State::Single | State::Double => word.push(c),
        }
    }
    match state {
        State::Single | State::Double => return Err("a quote left open"),
        State::Word => words.push(word),
        State::Between => {}
    }
    Ok(words)
}

/// One argument quoted as Python's `shlex.quote` does, so that [`split`] and the runner's
/// `shlex.split` give it back whole (`my tests` → `'my tests'`); also a valid POSIX shell word.
pub fn quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '_' | '@' | '%' | '+' | '=' | ':' | ',' | '.' | '/' | '-')
        });
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r#"'"'"'"#))
    }
}
