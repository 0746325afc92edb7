//! `psctl completions` and `psctl man` produce real, usable output.

use std::process::Command;

use crate::test::psctl;

#[test]
fn completions_for_each_shell_name_the_subcommands() {
    for shell in ["bash", "zsh", "fish"] {
        let o = psctl(&["completions", shell]);
        assert!(o.status.success(), "{shell}: {o:?}");
        let text = String::from_utf8(o.stdout).unwrap();
        // fish spells long options as `-l root`.
        for word in ["psctl", "apply", "check", "root", "message-format"] {
            assert!(text.contains(word), "{shell} completion lacks {word}");
        }
    }
    // The bash script is valid shell.
    let o = psctl(&["completions", "bash"]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("psctl.bash");
    std::fs::write(&file, &o.stdout).unwrap();
    let n = Command::new("bash").arg("-n").arg(&file).status().unwrap();
    assert!(n.success());
    assert_eq!(psctl(&["completions", "tcsh"]).status.code(), Some(2));
}

#[test]
fn man_pages_for_psctl_pcheck_and_padmin() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("man1");
    let o = psctl(&["man", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{o:?}");
    let page = |name: &str| {
        std::fs::read_to_string(out.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    for name in [
        "psctl.1",
        "psctl-apply.1",
        "psctl-check.1",
        "pcheck.1",
        "padmin.1",
    ] {
        assert!(page(name).contains("\n.TH "), "{name}");
        assert!(page(name).contains(".SH NAME"), "{name}");
    }
    assert!(page("psctl-apply.1").contains("prune"));
    let pcheck = page("pcheck.1");
    for needle in [
        "restart\\-timeout",
        "PCHECK_RUNTIME_DIR",
        "PCHECK_SYSLOG_SOCKET",
        "EXIT STATUS",
    ] {
        assert!(pcheck.contains(needle), "pcheck.1 lacks {needle}");
    }
    let padmin = page("padmin.1");
    for needle in [
        "show pent",
        "reload",
        "shutdown",
        "No pcheck serves that pfile",
    ] {
        assert!(padmin.contains(needle), "padmin.1 lacks {needle}");
    }
    // The pages render without errors where man(1) is available.
    if let Ok(o) = Command::new("man")
        .arg("-l")
        .arg(out.join("pcheck.1"))
        .env("MANWIDTH", "80")
        .output()
    {
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(
            text.contains("pcheck -f PFILE [--restart-timeout SECONDS]"),
            "{text}"
        );
    }
}
