//! `psctl apply` driven by a real Ansible (ansible-core, installed by scripts/setup-test-deps),
//! with the task of docs/hosts.md: a check run (`--check --diff`) runs psctl in check mode,
//! reports the change and its diff and writes nothing; the real run installs; the next run
//! reports no change; and a command-line error still gives `from_json` a summary to read.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use crate::apply_support::*;
use crate::test::PSCTL;

/// The task from docs/hosts.md, with the paths of this test.
fn playbook(dir: &Path, input: &Path, root: &Path, extra: &str) -> std::path::PathBuf {
    let text = format!(
        r#"- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Install pcheck configurations
      ansible.builtin.command:
        argv: "{{{{ ['{psctl}', 'apply', '{input}', '--root', '{root}', '--message-format', 'json'{extra}]
                 + (['--check'] if ansible_check_mode else [])
                 + (['--diff'] if ansible_diff_mode else []) }}}}"
      check_mode: false
      register: psctl
      changed_when: (psctl.stdout_lines | last | from_json).changed
      failed_when: (psctl.stdout_lines | last | from_json).failed
    - name: Show the changes
      ansible.builtin.debug:
        var: (psctl.stdout_lines | last | from_json).diffs
      when: ansible_diff_mode
"#,
        psctl = PSCTL,
        input = input.display(),
        root = root.display(),
    );
    let p = dir.join("site.yml");
    fs::write(&p, text).unwrap();
    p
}

fn ansible(h: &Host, play: &Path, args: &[&str]) -> Output {
    let home = h.inputs.parent().unwrap().join("ansible-home");
    fs::create_dir_all(&home).unwrap();
    Command::new("ansible-playbook")
        .args(["-i", "localhost,"])
        // The Python that runs Ansible runs its modules too (no interpreter discovery).
        .args([
            "-e",
            "ansible_python_interpreter={{ ansible_playbook_python }}",
        ])
        .args(args)
        .arg(play)
        .env("ANSIBLE_HOME", &home)
        .env("ANSIBLE_LOCAL_TEMP", home.join("tmp"))
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_LOCALHOST_WARNING", "false")
        .env("PSCTL_PADMIN", h.fake_padmin())
        .env("FAKE_PADMIN_LOG", &h.log)
        .env("FAKE_PADMIN_EXIT", "2")
        .output()
        .expect("ansible-playbook is missing: run scripts/setup-test-deps")
}

/// The `changed=N` and `failed=N` of the play recap.
fn recap(o: &Output) -> (u32, u32) {
    let out = String::from_utf8_lossy(&o.stdout);
    let line = out
        .lines()
        .find(|l| l.starts_with("localhost") && l.contains("changed="))
        .unwrap_or_else(|| panic!("no recap: {o:?}"));
    let n = |key: &str| -> u32 {
        let rest = &line[line.find(key).unwrap() + key.len()..];
        rest.split_whitespace().next().unwrap().parse().unwrap()
    };
    (n("changed="), n("failed="))
}

#[test]
fn ansible_check_apply_then_nothing_to_do() {
    let h = Host::new();
    let input = h.input("pfile_cron", &pfile("0x1f000501", 3));
    let dir = h.inputs.parent().unwrap();
    let play = playbook(dir, &input, &h.root, "");

    let o = ansible(&h, &play, &["--check", "--diff"]);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(recap(&o), (1, 0), "{o:?}");
    // The debug task shows the per-file before/after of the summary.
    assert!(out.contains("\"before\": \"\","), "{out}");
    assert!(
        out.contains("crond:/etc/init.d/crond restart:86400:3:continue\\n\""),
        "{out}"
    );
    assert!(
        out.contains("\"before_header\": \"/var/opt/HA/PS/conf/bin/pfile_cron\""),
        "{out}"
    );
    assert!(h.tree().is_empty(), "a check run wrote {:?}", h.tree());

    let o = ansible(&h, &play, &[]);
    assert_eq!(recap(&o), (1, 0), "{o:?}");
    assert!(h.installed("pfile_cron").is_file());
    assert_eq!(h.padmin_calls().len(), 1);

    let o = ansible(&h, &play, &["--check", "--diff"]);
    assert_eq!(recap(&o), (0, 0), "{o:?}");
    let o = ansible(&h, &play, &[]);
    assert_eq!(recap(&o), (0, 0), "{o:?}");
    assert_eq!(
        h.padmin_calls().len(),
        1,
        "nothing reloaded the second time"
    );

    // A usage error: the task fails with psctl's message, not with from_json on empty output.
    let play = playbook(dir, &input, &h.root, ", '--no-such-flag'");
    let o = ansible(&h, &play, &[]);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(recap(&o), (0, 1), "{o:?}");
    assert!(
        out.contains("usage: unexpected argument '--no-such-flag'"),
        "{out}"
    );
    assert!(
        !out.contains("Expecting value") && !out.contains("JSONDecodeError"),
        "{out}"
    );
}
