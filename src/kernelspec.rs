//! Writing the kernelspec (kernel.json and logos) where Jupyter looks for kernels.

use std::path::{Path, PathBuf};

use serde_json::json;

/// The template in the repository's `kernelspec/`; install fills in `argv[0]`.
const TEMPLATE: &str = include_str!("../kernelspec/kernel.json");
const LOGO_32: &[u8] = include_bytes!("../kernelspec/logo-32x32.png");
const LOGO_64: &[u8] = include_bytes!("../kernelspec/logo-64x64.png");
const LOGO_SVG: &[u8] = include_bytes!("../kernelspec/logo-svg.svg");

#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("kernel name `{0}` is not valid: use lowercase letters, digits, `.`, `_` and `-`")]
    BadName(String),
    #[error("cannot find this program's own path: {0}")]
    SelfPath(std::io::Error),
    #[error("{0}")]
    NoPrefix(String),
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

/// Where to install: the user's Jupyter data dir, a Python environment, or a prefix.
#[derive(Debug, Clone)]
pub enum Location {
    User,
    SysPrefix,
    Prefix(PathBuf),
}

/// The kernels directory for a location (`.../share/jupyter/kernels`).
pub fn kernels_dir(location: &Location) -> Result<PathBuf, InstallError> {
    Ok(match location {
        Location::User => match std::env::var_os("JUPYTER_DATA_DIR") {
            Some(dir) => PathBuf::from(dir).join("kernels"),
            None => {
                let home = std::env::var_os("HOME")
                    .ok_or_else(|| InstallError::NoPrefix("HOME is not set; use --prefix DIR".into()))?;
                match std::env::var_os("XDG_DATA_HOME") {
                    Some(xdg) => PathBuf::from(xdg).join("jupyter/kernels"),
                    None => PathBuf::from(home).join(".local/share/jupyter/kernels"),
                }
            }
        },
        Location::SysPrefix => {
            let prefix = std::env::var_os("VIRTUAL_ENV").or_else(|| std::env::var_os("CONDA_PREFIX")).ok_or_else(|| {
                InstallError::NoPrefix("--sys-prefix needs an active Python environment (VIRTUAL_ENV or CONDA_PREFIX); activate it or use --prefix DIR".into())
            })?;
            PathBuf::from(prefix).join("share/jupyter/kernels")
        }
        Location::Prefix(p) => p.join("share/jupyter/kernels"),
    })
}

/// The kernel.json content for a binary at `program`.
pub fn kernel_json(program: &Path) -> serde_json::Value {
    let mut spec: serde_json::Value = serde_json::from_str(TEMPLATE).unwrap_or_else(|_| json!({}));
    spec["argv"] = json!([
        program.to_string_lossy(),
        "kernel",
        "--connection-file",
        "{connection_file}"
    ]);
    spec
}

pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
}

/// Installs the kernelspec; returns the directory written.
pub fn install(location: &Location, name: &str) -> Result<PathBuf, InstallError> {
    if !valid_name(name) {
        return Err(InstallError::BadName(name.into()));
    }
    let program = std::env::current_exe()
        .and_then(|p| p.canonicalize())
        .map_err(InstallError::SelfPath)?;
    let dir = kernels_dir(location)?.join(name);
    let write = |file: &str, bytes: &[u8]| {
        let path = dir.join(file);
        std::fs::write(&path, bytes).map_err(|source| InstallError::Write { path, source })
    };
    std::fs::create_dir_all(&dir).map_err(|source| InstallError::Write {
        path: dir.clone(),
        source,
    })?;
    let spec = serde_json::to_vec_pretty(&kernel_json(&program)).unwrap_or_default();
    write("kernel.json", &spec)?;
    write("logo-32x32.png", LOGO_32)?;
    write("logo-64x64.png", LOGO_64)?;
    write("logo-svg.svg", LOGO_SVG)?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_json_uses_message_interrupts_and_the_absolute_program() {
        let j = kernel_json(Path::new("/opt/bin/runbook"));
        assert_eq!(j["argv"][0], "/opt/bin/runbook");
        assert_eq!(j["argv"][3], "{connection_file}");
        assert_eq!(j["interrupt_mode"], "message");
        assert_eq!(j["language"], "rhai");
        assert_eq!(j["display_name"], "Runbook (Rhai)");
    }

    #[test]
    fn install_into_a_prefix_writes_spec_and_logos() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = install(&Location::Prefix(tmp.path().into()), "runbook-test").unwrap();
        assert_eq!(dir, tmp.path().join("share/jupyter/kernels/runbook-test"));
        for f in ["kernel.json", "logo-32x32.png", "logo-64x64.png", "logo-svg.svg"] {
            assert!(dir.join(f).is_file(), "{f} missing");
        }
        let spec: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("kernel.json")).unwrap()).unwrap();
        assert!(Path::new(spec["argv"][0].as_str().unwrap()).is_absolute());
    }

    #[test]
    fn names_are_lowercase_safe_characters() {
        assert!(valid_name("runbook"));
        assert!(!valid_name("Runbook"));
        assert!(!valid_name("a b"));
    }
}
