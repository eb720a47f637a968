//! conformance/requirements.tsv: every MUST / MUST NOT / SHOULD / SHOULD NOT
//! sentence of runtime-spec v1.3.0's runtime.md, runtime-linux.md,
//! config.md, config-linux.md, features.md and features-linux.md, one per
//! line: id, file, section, keyword, sentence, coverage. Coverage is the
//! ids of the tests that check it, or "untestable: why", "n/a: why" (not a
//! Linux requirement) or "not tested: why" (a SHOULD runc does not honour).
//! Rows with keyword "none" are descriptive tests of sentences without a
//! keyword; they are not counted.

use std::collections::BTreeSet;

pub const TSV: &str = include_str!("../requirements.tsv");

pub struct Req {
    pub id: &'static str,
    pub file: &'static str,
    pub section: &'static str,
    pub keyword: &'static str,
    pub sentence: &'static str,
    pub coverage: &'static str,
}

impl Req {
    pub fn tests(&self) -> Vec<&'static str> {
        if self.coverage.contains(':') {
            return Vec::new();
        }
        self.coverage.split_whitespace().collect()
    }
    pub fn counted(&self) -> bool {
        self.keyword != "none"
    }
}

pub fn all() -> Vec<Req> {
    TSV.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&'static str> = l.split('\t').collect();
            (f.len() >= 6).then(|| Req {
                id: f[0],
                file: f[1],
                section: f[2],
                keyword: f[3],
                sentence: f[4],
                coverage: f[5],
            })
        })
        .collect()
}

/// (counted requirements, of which covered by a test)
pub fn counts() -> (usize, usize) {
    let all = all();
    let counted: Vec<&Req> = all.iter().filter(|r| r.counted()).collect();
    (
        counted.len(),
        counted.iter().filter(|r| !r.tests().is_empty()).count(),
    )
}

/// Every test named in the TSV exists; every test is named at least once;
/// ids are unique; keywords are known.
pub fn check() -> Result<(), String> {
    let tests: BTreeSet<&str> = crate::tests::all().iter().map(|t| t.id).collect();
    let mut named = BTreeSet::new();
    let mut ids = BTreeSet::new();
    let mut errs = Vec::new();
    for (n, l) in TSV.lines().enumerate().skip(1) {
        if !l.trim().is_empty() && !l.starts_with('#') && l.split('\t').count() < 6 {
            errs.push(format!("line {}: fewer than 6 columns", n + 1));
        }
    }
    for r in all() {
        if !ids.insert(r.id) {
            errs.push(format!("duplicate requirement id {}", r.id));
        }
        if !["MUST", "MUST NOT", "SHOULD", "SHOULD NOT", "none"].contains(&r.keyword) {
            errs.push(format!("{}: keyword {:?}", r.id, r.keyword));
        }
        if r.coverage.contains(':')
            && !["untestable:", "n/a:", "not tested:"]
                .iter()
                .any(|p| r.coverage.starts_with(p))
        {
            errs.push(format!("{}: coverage {:?}", r.id, r.coverage));
        }
        for t in r.tests() {
            if !tests.contains(t) {
                errs.push(format!("{}: no test {t}", r.id));
            }
            named.insert(t);
        }
    }
    for t in &tests {
        if !named.contains(t) {
            errs.push(format!("test {t} is in no requirement row"));
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs.join("\n"))
    }
}
