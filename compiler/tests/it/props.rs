//! Property tests: arbitrary bytes and near-valid documents never panic any front-end, and
//! every diagnostic has a valid span in its file.

use proptest::prelude::*;
use psctl::input::{load_bytes, Format, Input};

const FORMATS: [Format; 4] = [Format::Pfile, Format::Yaml, Format::Toml, Format::Json];

fn seeds() -> Vec<(Format, String)> {
    let ex = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/");
    [
        (Format::Yaml, "webstack.yaml"),
        (Format::Toml, "webstack.toml"),
        (Format::Pfile, "pfile_cron"),
        (Format::Yaml, "cron.yaml"),
    ]
    .into_iter()
    .map(|(f, n)| (f, std::fs::read_to_string(format!("{ex}{n}")).unwrap()))
    .chain([(
        Format::Json,
        r#"{"name": "web", "ipckey": "0x10", "processes": [{"name": "a", "restart": {"stop": "x", "start": "y", "wait": "5s"}, "grace": "1d"}]}"#.to_owned(),
    )])
    .collect()
}

fn assert_sane(input: &Input) {
    let text = input.source.text();
    for d in &input.diagnostics {
        let src = d.source.as_ref().expect("diagnostic names its file");
        assert_eq!(src.text(), text);
        assert!(!d.labels.is_empty(), "{}: no span", d.code.id);
        for l in &d.labels {
            assert!(l.span.start <= l.span.end, "{}", d.code.id);
            assert!(l.span.end <= text.len(), "{}", d.code.id);
            assert!(text.is_char_boundary(l.span.start) && text.is_char_boundary(l.span.end));
        }
        let (s, e) = d.location().unwrap();
        assert!(s.line >= 1 && s.column >= 1 && (e.line, e.column) >= (s.line, s.column));
    }
    let errors = input.diagnostics.iter().any(|d| d.is_error());
    assert_eq!(input.service.is_some(), !errors);
}

/// One edit of a valid document: delete, insert a significant character, or duplicate a line.
#[derive(Debug, Clone)]
enum Edit {
    Delete(usize, usize),
    Insert(usize, char),
    DuplicateLine(usize),
    Truncate(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let sig = prop::sample::select(vec![
        ':', '-', '[', ']', '{', '}', '"', '\'', '#', '&', '*', '!', '|', '>', ' ', '\t', '\n',
        '=', ',', '0', 'x', 'é', '\u{FEFF}', '%', '@', '`',
    ]);
    prop_oneof![
        (any::<usize>(), 1..8usize).prop_map(|(a, n)| Edit::Delete(a, n)),
        (any::<usize>(), sig).prop_map(|(a, c)| Edit::Insert(a, c)),
        any::<usize>().prop_map(Edit::DuplicateLine),
        any::<usize>().prop_map(Edit::Truncate),
    ]
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut t: Vec<char> = text.chars().collect();
    for e in edits {
        let len = t.len().max(1);
        match *e {
            Edit::Delete(a, n) => {
                let a = a % len;
                let b = (a + n).min(t.len());
                if a < b {
                    t.drain(a..b);
                }
            }
            Edit::Insert(a, c) => t.insert(a % (t.len() + 1), c),
            Edit::DuplicateLine(a) => {
                let s: String = t.iter().collect();
                let lines: Vec<&str> = s.split('\n').collect();
                let i = a % lines.len();
                let mut out = lines.clone();
                out.insert(i, lines[i]);
                t = out.join("\n").chars().collect();
            }
            Edit::Truncate(a) => t.truncate(a % len),
        }
    }
    t.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512), f in 0..4usize) {
        let input = load_bytes("fuzz", &bytes, FORMATS[f]);
        assert_sane(&input);
    }

    #[test]
    fn arbitrary_text_never_panics(text in "[a-z_:\\[\\]{}\"'#&*!|>=,.0-9 \t\n-]{0,300}", f in 0..4usize) {
        let input = load_bytes("fuzz", text.as_bytes(), FORMATS[f]);
        assert_sane(&input);
    }

    #[test]
    fn near_valid_documents_never_panic(seed in 0..5usize, edits in prop::collection::vec(edit(), 1..4)) {
        let (format, text) = seeds().swap_remove(seed);
        let mutated = apply(&text, &edits);
        let input = load_bytes("near", mutated.as_bytes(), format);
        assert_sane(&input);
    }
}

#[test]
fn seeds_are_valid() {
    for (format, text) in seeds() {
        let input = load_bytes("seed", text.as_bytes(), format);
        assert!(input.diagnostics.is_empty(), "{:?}", input.diagnostics);
    }
}

/// The PENT fields of one line as spec section 1 defines them: the text before a comment (a
/// `#` after a blank), split at `:`, each trimmed of blanks.
fn reference_fields(line: &str) -> Vec<String> {
    let chars: Vec<char> = line.chars().collect();
    let mut end = chars.len();
    for i in 1..chars.len() {
        if chars[i] == '#' && matches!(chars[i - 1], ' ' | '\t') {
            let mut j = i;
            while j > 0 && matches!(chars[j - 1], ' ' | '\t') {
                j -= 1;
            }
            end = j;
            break;
        }
    }
    let content: String = chars[..end].iter().collect();
    content
        .split(':')
        .map(|f| f.trim_matches([' ', '\t']).to_owned())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// The grammar's fast field rule splits exactly like the spec's definition.
    #[test]
    fn pent_fields_match_the_spec(rest in "[a: \t#\r/éX-]{0,40}") {
        let line = format!("a{rest}");
        let syntax = psctl::pfile::syntax::parse(&line).unwrap();
        match &syntax.lines.get(0).unwrap().kind {
            psctl::pfile::syntax::LineKind::Pent { fields, count } => {
                // Five fields, then everything after the fifth `:` as one span.
                let got: Vec<&str> = fields.iter().map(|s| &line[s.start..s.end]).collect();
                let want = reference_fields(&line);
                prop_assert_eq!(*count, want.len());
                prop_assert_eq!(&got[..got.len().min(5)], &want[..want.len().min(5)]);
                if want.len() > 5 {
                    let last = got[5];
                    prop_assert_eq!(last.split(':').count(), want.len() - 5);
                    let rest: Vec<&str> = last.split(':').map(|f| f.trim_matches([' ', '\t'])).collect();
                    prop_assert_eq!(&rest[..], &want[5..]);
                }
            }
            k => prop_assert!(false, "not a PENT line: {:?}", k),
        }
    }
}
