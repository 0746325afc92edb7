//! The extensions of spec 7 (issue 15: instances, health checks, stop_timeout, retry_delay,
//! groups) through the real binary: `psctl fmt`, `import` and `build` carry every one of them
//! from a pfile to a description and back without change (docs/extensions.md).

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

/// Every extension field off its default, a group with two members, comments on each kind
/// of line, in non-canonical order and spacing.
const WEB: &str = "\
IPCKEY 0x1f000601
# the frontend restarts as one
frontend:/var/opt/HA/PS/conf/bin/restart_frontend.sh:86400:3:exit:kind=group # group
nginx:-:86400:3:continue: group=frontend :health_tcp=127.0.0.1  80:instances=2:health_interval=30:health_timeout=3:health_failures=4
php-fpm:-:86400:3:continue:group=frontend:health_exec=/usr/local/bin/php-alive --quiet
crond:/var/opt/HA/PS/conf/bin/restart_crond.sh:0:5:exit:retry_delay=5:stop_timeout=20:user=root,0 # cron
";

/// What `psctl fmt` makes of [`WEB`].
const WEB_CANONICAL: &str = "\
##### PARAM #####
IPCKEY                0x1f000601
MSG_CHECK_INTERVAL    5
MONITOR_INTERVAL      10
MONITOR_TRY_COUNT     2
SHM_DUMP_FILE         /var/opt/HA/PS/log/pcheck_dump_0x1f000601

##### PENT #####
nginx:-:86400:3:continue:instances=2:health_tcp=127.0.0.1 80:health_interval=30:health_timeout=3:health_failures=4:group=frontend
php-fpm:-:86400:3:continue:health_exec=/usr/local/bin/php-alive --quiet:group=frontend
crond:/var/opt/HA/PS/conf/bin/restart_crond.sh:0:5:exit:user=root,0:stop_timeout=20:retry_delay=5 # cron
# the frontend restarts as one
frontend:/var/opt/HA/PS/conf/bin/restart_frontend.sh:86400:3:exit:kind=group # group
";

fn psctl(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_psctl"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn ok(o: &Output) {
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A file's text without its first line (a generated-file header naming the source).
fn body(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap();
    text.split_once('\n').unwrap().1.to_owned()
}

/// `pfile` without its own-line and trailing comments (the banners stay).
fn without_comments(pfile: &str) -> String {
    pfile
        .lines()
        .filter(|l| !l.starts_with("# "))
        .map(|l| format!("{}\n", l.split(" # ").next().unwrap()))
        .collect()
}

#[test]
fn fmt_prints_the_extensions_canonically_and_is_a_fixed_point() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("pfile_web");
    fs::write(&p, WEB).unwrap();
    ok(&psctl(d.path(), &["fmt", "pfile_web"]));
    assert_eq!(fs::read_to_string(&p).unwrap(), WEB_CANONICAL);
    ok(&psctl(d.path(), &["fmt", "--check", "pfile_web"]));
}

#[test]
fn import_then_build_gives_the_same_pfile_in_yaml_and_toml() {
    let d = tempfile::tempdir().unwrap();
    fs::write(d.path().join("pfile_web"), WEB_CANONICAL).unwrap();
    ok(&psctl(d.path(), &["build", "pfile_web", "-o", "direct"]));
    let direct = body(&d.path().join("direct/pfile_web"));
    assert_eq!(direct, WEB_CANONICAL);
    for ext in ["yaml", "toml"] {
        let desc = format!("web.{ext}");
        ok(&psctl(d.path(), &["import", "pfile_web", "-o", &desc]));
        let text = fs::read_to_string(d.path().join(&desc)).unwrap();
        for key in [
            "instances",
            "health",
            "stop_timeout",
            "retry_delay",
            "groups",
        ] {
            assert!(text.contains(key), "{ext}: no {key}:\n{text}");
        }
        ok(&psctl(d.path(), &["check", &desc]));
        let out = format!("out_{ext}");
        ok(&psctl(d.path(), &["build", &desc, "-o", &out]));
        // import keeps the pfile's dump file, so the pfile comes back byte for byte but for
        // its comments (a description's comments are not carried into a build).
        let built = body(&d.path().join(&out).join("pfile_web"));
        assert_eq!(built, without_comments(&direct), "{ext}");
        // And the built pfile is canonical already.
        ok(&psctl(
            d.path(),
            &["fmt", "--check", &format!("{out}/pfile_web")],
        ));
    }
}

#[test]
fn build_writes_group_scripts_with_slugs_unique_across_entries_and_groups() {
    let d = tempfile::tempdir().unwrap();
    let yaml = "\
name: web
ipckey: 0x1f000601
processes:
  - name: front-end
    restart: { stop: stop-fe, start: start-fe }
  - name: nginx
  - name: php-fpm
groups:
  - name: front_end
    members: [nginx, php-fpm]
    restart: { stop: 'systemctl stop nginx php-fpm', start: 'systemctl start php-fpm nginx', wait: 2s }
    on_retry_over: exit
";
    fs::write(d.path().join("web.yaml"), yaml).unwrap();
    ok(&psctl(d.path(), &["build", "web.yaml", "-o", "out"]));
    let pfile = fs::read_to_string(d.path().join("out/pfile_web")).unwrap();
    assert!(
        pfile.ends_with(
            "front-end:/var/opt/HA/PS/conf/bin/restart_front_end.sh:86400:3:continue\n\
nginx:-:86400:3:continue:group=front_end\n\
php-fpm:-:86400:3:continue:group=front_end\n\
front_end:/var/opt/HA/PS/conf/bin/restart_front_end_2.sh:86400:3:exit:kind=group\n"
        ),
        "{pfile}"
    );
    let script = fs::read_to_string(d.path().join("out/restart_front_end_2.sh")).unwrap();
    assert!(
        script.contains("# Restart script of group `front_end`"),
        "{script}"
    );
    assert!(script.contains(
        "stop_cmd='systemctl stop nginx php-fpm'\nstart_cmd='systemctl start php-fpm nginx'\n"
    ));
    assert!(script.contains("sleep 2\n"));
    assert!(d.path().join("out/restart_front_end.sh").exists());
    // The built pfile reads back into the same groups.
    ok(&psctl(d.path(), &["check", "out/pfile_web"]));
}

#[test]
fn a_legacy_pfile_is_untouched_by_the_extensions() {
    let d = tempfile::tempdir().unwrap();
    let legacy = "##### PARAM #####\nIPCKEY 0x1f000501\n\n##### PENT #####\ncrond:/var/opt/HA/PS/conf/bin/restart_crond.sh:86400:3:continue\n";
    fs::write(d.path().join("pfile_cron"), legacy).unwrap();
    ok(&psctl(
        d.path(),
        &["import", "pfile_cron", "-o", "cron.yaml"],
    ));
    let text = fs::read_to_string(d.path().join("cron.yaml")).unwrap();
    for key in [
        "instances",
        "health",
        "stop_timeout",
        "retry_delay",
        "groups",
    ] {
        assert!(!text.contains(key), "{key}:\n{text}");
    }
    ok(&psctl(d.path(), &["build", "pfile_cron", "-o", "out"]));
    let built = body(&d.path().join("out/pfile_cron"));
    assert!(
        built.ends_with("crond:/var/opt/HA/PS/conf/bin/restart_crond.sh:86400:3:continue\n"),
        "{built}"
    );
}
