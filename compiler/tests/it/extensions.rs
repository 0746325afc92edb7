//! The extensions of spec 7 (issue 15: instances, health checks, stop_timeout, retry_delay,
//! groups) through the real binary: `psctl fmt`, `import` and `build` carry every one of them
//! from a pfile to a description and back without change (docs/extensions.md).

use std::fs;
use std::path::Path;
use std::process::Output;

use crate::test::psctl_in as psctl;

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

mod props {
    //! For any valid service using the extensions: the canonical pfile reads back to the same
    //! model, and so do the YAML and TOML descriptions `import` prints of it.

    use proptest::prelude::*;
    use psctl::emit::description::{self, Format, Options};
    use psctl::emit::pfile::{print, Comments};
    use psctl::input::{load_bytes, Format as In};
    use psctl::model::{Action, Group, Health, HealthCheck, Process, Restart, Service};
    use psctl::pfile::{parse_bytes, PARAM_KEYS};

    fn health() -> impl Strategy<Value = Option<Health>> {
        let check = prop_oneof![
            (0u8..10).prop_map(|n| HealthCheck::Exec(format!("/usr/local/bin/alive-{n} --quiet"))),
            (any::<[u8; 4]>(), 1u16..).prop_map(|(ip, port)| HealthCheck::Tcp(
                std::net::SocketAddrV4::new(ip.into(), port)
            )),
        ];
        proptest::option::of((check, 1u32..=86_400, 1u32..=3600, 1u32..=100).prop_map(
            |(check, interval, timeout, failures)| Health {
                check,
                interval,
                timeout,
                failures,
            },
        ))
    }

    fn action() -> impl Strategy<Value = Action> {
        prop_oneof![
            Just(Action::Continue),
            Just(Action::Exit),
            Just(Action::Shutdown)
        ]
    }

    prop_compose! {
        fn process(i: usize)(
            script in any::<bool>(),
            grace in 0u64..=31_536_000,
            retries in 0u32..=1000,
            on_retry_over in action(),
            instances in 1u32..=1000,
            health in health(),
            stop_timeout in 1u32..=3600,
            retry_delay in 0u32..=300,
            group in proptest::option::of(0usize..2),
        ) -> Process {
            let restart = if script && group.is_none() {
                Restart::Script(format!("/etc/ps/restart_{i}.sh"))
            } else {
                Restart::None
            };
            Process {
                restart,
                grace,
                retries,
                on_retry_over,
                instances,
                health: health.map(Box::new),
                stop_timeout,
                // A member's retries are its group's.
                retry_delay: if group.is_some() { 0 } else { retry_delay },
                group: group.map(|g| format!("g{g}").into()),
                ..Process::new(format!("proc-{i}"))
            }
        }
    }

    fn service() -> impl Strategy<Value = Service> {
        let procs = (1usize..5).prop_flat_map(|n| (0..n).map(process).collect::<Vec<_>>());
        (
            procs,
            proptest::collection::vec((any::<bool>(), 0u64..=86_400, 0u32..=5, action()), 2),
        )
            .prop_map(|(processes, groups)| {
                let mut svc = Service {
                    dump_file: Some("/var/log/pcheck_dump_web".into()),
                    conf_dir: Some("/etc/ps".into()),
                    processes,
                    ..Service::new("web", 0x1f00_0601)
                };
                for (g, (script, grace, retries, on_retry_over)) in groups.into_iter().enumerate() {
                    let name = format!("g{g}");
                    // A group without members is an error: keep only those with some.
                    if svc.members(&name).next().is_none() {
                        continue;
                    }
                    let restart = if script {
                        Restart::Script(format!("/etc/ps/restart_{name}.sh"))
                    } else {
                        Restart::None
                    };
                    svc.groups.push(Group {
                        name,
                        restart,
                        grace,
                        retries,
                        on_retry_over,
                    });
                }
                svc
            })
    }

    proptest! {
        #[test]
        fn pfiles_and_descriptions_read_back(svc in service()) {
            let pfile = print(&svc, &Comments::default(), None);
            let p = parse_bytes("pfile_web", pfile.as_bytes(), "web");
            prop_assert!(p.diagnostics.is_empty(), "{:?}\n{}", p.diagnostics, pfile);
            let back = p.service.unwrap();
            prop_assert_eq!(&back.processes, &svc.processes, "{}", pfile);
            prop_assert_eq!(&back.groups, &svc.groups, "{}", pfile);
            for (format, input) in [(Format::Yaml, In::Yaml), (Format::Toml, In::Toml)] {
                let opts = Options { format, schema: "s.json", given: [true; PARAM_KEYS.len()] };
                let text = description::print(&svc, &Comments::default(), &opts);
                let loaded = load_bytes("web", text.as_bytes(), input);
                prop_assert!(
                    loaded.diagnostics.is_empty(), "{:?}\n{}", loaded.diagnostics, text
                );
                let d = loaded.service.unwrap();
                prop_assert_eq!(&d.processes, &svc.processes, "{}", text);
                prop_assert_eq!(&d.groups, &svc.groups, "{}", text);
            }
        }
    }
}
