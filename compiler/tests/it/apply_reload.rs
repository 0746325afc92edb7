//! `psctl apply` asking running pchecks to reload, through a fake padmin
//! (tests/fixtures/fake-padmin) that records its arguments and answers as told.

use crate::apply_support::*;

#[test]
fn a_changed_pfile_reloads_its_pcheck_and_a_refusal_is_an_error() {
    let h = Host::new();
    let input = h.input("pfile_cron", &pfile("0x1f000501", 3));
    let input = input.to_str().unwrap();
    assert_eq!(status(&h.apply(&[input], 2)), 0);

    h.input("pfile_cron", &pfile("0x1f000501", 4));
    let o = h.apply(&[input, "--message-format", "json"], 0);
    assert_eq!(status(&o), 0, "{o:?}");
    let s = summary(&o);
    assert_eq!(strings(&s["reloaded"]), [CRON]);
    assert!(strings(&s["not_running"]).is_empty());

    h.input("pfile_cron", &pfile("0x1f000501", 5));
    let o = h.apply(&[input, "--message-format", "json"], 1);
    assert_eq!(
        status(&o),
        1,
        "a refused reload must not look like success: {o:?}"
    );
    let s = summary(&o);
    assert_eq!(s["changed"], true, "the file was written");
    assert!(strings(&s["reloaded"]).is_empty());
    let refused =
        format!("{CRON}: the running pcheck refused to reload: pfile_cron: line 7: unknown key");
    assert_eq!(strings(&s["errors"]), [refused.as_str()]);

    // In GitHub Actions the refusal is an error annotation.
    h.input("pfile_cron", &pfile("0x1f000501", 6));
    let o = h.apply(&[input, "--message-format", "github"], 1);
    assert_eq!(status(&o), 1);
    // (The warnings before it depend on the host: is there an /etc/init.d/crond?)
    let out = stdout(&o);
    let annotations: Vec<&str> = out.lines().filter(|l| l.starts_with("::error")).collect();
    assert_eq!(
        annotations,
        [format!("::error title=psctl apply::{refused}")],
        "{o:?}"
    );

    let o = h.apply(&[input], 0);
    assert_eq!(status(&o), 0);
    assert_eq!(h.padmin_calls().len(), 4, "no reload when nothing changed");
}

#[test]
fn a_padmin_that_does_not_answer_is_killed_and_reported() {
    let h = Host::new();
    let input = h.input("pfile_cron", &pfile("0x1f000501", 3));
    let started = std::time::Instant::now();
    let env = [("FAKE_PADMIN_SLEEP", "30"), ("PSCTL_RELOAD_TIMEOUT", "1")];
    let o = h.apply_with(
        &[input.to_str().unwrap(), "--message-format", "json"],
        0,
        &env,
    );
    assert!(started.elapsed().as_secs() < 20, "apply waited for padmin");
    assert_eq!(status(&o), 1, "{o:?}");
    assert_eq!(
        strings(&summary(&o)["errors"]),
        [format!(
            "{CRON}: cannot ask pcheck to reload: {} did not answer within 1 s; killed it",
            h.fake_padmin().display()
        )]
    );
}
