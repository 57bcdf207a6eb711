//! Start-up configuration: `quiver-server [config-file] [--directive value …]`,
//! read exactly as `redis-server` reads its arguments. The file and the
//! command line feed the same directive registry CONFIG uses.

use quiver_commands::config::Config;
use quiver_resp::split_args;
use std::path::PathBuf;

/// Why start-up configuration was refused; printed before exiting.
#[derive(Debug, thiserror::Error)]
pub enum OptionsError {
    #[error("*** FATAL CONFIG FILE ERROR (Quiver {version}) ***\nReading the configuration file, at line {line}\n>>> '{text}'\n{reason}")]
    Directive {
        version: &'static str,
        line: usize,
        text: String,
        reason: String,
    },
    #[error("Fatal error, can't open config file '{path}': {err}")]
    Open { path: String, err: std::io::Error },
}

/// What the command line asked for.
pub enum Invocation {
    Run(Box<Config>),
    Version,
    Help,
}

/// Parses argv (without the program name).
pub fn parse_args(argv: &[String]) -> Result<Invocation, OptionsError> {
    if let Some(first) = argv.first() {
        match first.as_str() {
            "-v" | "--version" => return Ok(Invocation::Version),
            "-h" | "--help" => return Ok(Invocation::Help),
            _ => {}
        }
    }
    let mut text = String::new();
    let mut rest = argv;
    let mut file = None;
    if let Some(first) = argv.first() {
        if !first.starts_with("--") {
            let content = if first == "-" {
                let mut s = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut s).map_err(|err| {
                    OptionsError::Open {
                        path: first.clone(),
                        err,
                    }
                })?;
                s
            } else {
                std::fs::read_to_string(first).map_err(|err| OptionsError::Open {
                    path: first.clone(),
                    err,
                })?
            };
            text.push_str(&content);
            text.push('\n');
            if first != "-" {
                file = Some(PathBuf::from(first));
            }
            rest = &argv[1..];
        }
    }
    // Command-line directives become config lines appended to the file's,
    // so they take precedence, as in Redis.
    let mut line = String::new();
    for arg in rest {
        if let Some(name) = arg.strip_prefix("--") {
            if !line.is_empty() {
                text.push_str(&line);
                text.push('\n');
            }
            line = name.to_string();
        } else {
            line.push(' ');
            line.push_str(&quote(arg));
        }
    }
    if !line.is_empty() {
        text.push_str(&line);
        text.push('\n');
    }
    let config = Config::new();
    apply_text(&config, &text)?;
    *config.file.write() = file.map(|f| std::fs::canonicalize(&f).unwrap_or(f));
    Ok(Invocation::Run(Box::new(config)))
}

/// Quotes a command-line value so that the config-line splitter returns it
/// unchanged (empty strings and spaces included).
fn quote(arg: &str) -> String {
    let mut s = String::from("\"");
    for c in arg.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            _ => s.push(c),
        }
    }
    s.push('"');
    s
}

/// Applies redis.conf-style text to `config`.
pub fn apply_text(config: &Config, text: &str) -> Result<(), OptionsError> {
    for (n, raw) in text.lines().enumerate() {
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let fail = |reason: String| OptionsError::Directive {
            version: quiver_commands::state::QUIVER_VERSION,
            line: n + 1,
            text: trimmed.to_string(),
            reason,
        };
        let parts = split_args(trimmed.as_bytes())
            .map_err(|_| fail("Unbalanced quotes in configuration line".into()))?;
        let Some((name, values)) = parts.split_first() else {
            continue;
        };
        let name = String::from_utf8_lossy(name).to_ascii_lowercase();
        if values.is_empty() && name != "save" {
            return Err(fail("wrong number of arguments".into()));
        }
        let value: Vec<String> = values
            .iter()
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .collect();
        config.set_startup(&name, &value.join(" ")).map_err(|e| {
            if quiver_commands::config::find(&name).is_none() {
                fail(format!(
                    "Bad directive or wrong number of arguments: unknown directive '{name}'"
                ))
            } else {
                fail(format!("Invalid argument for '{name}': {e}"))
            }
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn command_line_directives() {
        let Ok(Invocation::Run(c)) = parse_args(&args(&[
            "--port", "7000", "--save", "", "--bind", "0.0.0.0",
        ])) else {
            panic!("expected a config")
        };
        assert_eq!(c.get("port"), "7000");
        assert_eq!(c.get("save"), "");
        assert_eq!(c.get("bind"), "0.0.0.0");
    }

    #[test]
    fn unknown_directive_is_named() {
        let err = parse_args(&args(&["--no-such-thing", "1"]))
            .err()
            .expect("must fail")
            .to_string();
        assert!(err.contains("no-such-thing"), "{err}");
        let err = parse_args(&args(&["--port", "notaport"]))
            .err()
            .expect("must fail")
            .to_string();
        assert!(err.contains("port"), "{err}");
    }

    #[test]
    fn config_file_then_overrides() {
        let dir = std::env::temp_dir().join(format!("quiver-opt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("q.conf");
        std::fs::write(&f, "# comment\nport 7001\nmaxmemory 1mb\n").unwrap();
        let Ok(Invocation::Run(c)) = parse_args(&args(&[f.to_str().unwrap(), "--port", "7002"]))
        else {
            panic!("expected a config")
        };
        assert_eq!(c.get("port"), "7002");
        assert_eq!(c.get("maxmemory"), "1048576");
        assert!(c.file.read().is_some());
    }
}
