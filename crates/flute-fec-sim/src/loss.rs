//! Loss models on the command line: `none`, independent loss, Gilbert-Elliott, loss traces.
//!
//! | spec | model |
//! |---|---|
//! | `none` | no loss |
//! | `0.1`, `10%`, `iid:0.1`, `p:0.1` | each packet lost independently with probability 0.1 |
//! | `iid:0.02..0.3/0.02` | a sweep: 0.02, 0.04, ..., 0.30 (one case each) |
//! | `ge:p,r` | Gilbert: good to bad with `p`, bad to good with `r`, every packet lost in bad, none in good |
//! | `ge:p,r,h` | Gilbert-Elliott with delivery probability `h` in the bad state |
//! | `ge:p,r,h,k` | Gilbert-Elliott with delivery probabilities `h` (bad) and `k` (good) |
//! | `trace:FILE` | a loss trace: one `0` (received) or `1` (lost) per packet |
//!
//! The Gilbert-Elliott parameters follow the usual notation (Gilbert 1960, Elliott 1963,
//! e.g. Hasslinger and Hohlfeld 2008): `p` = P(good -> bad), `r` = P(bad -> good) per
//! packet, `k` = P(delivered | good), `h` = P(delivered | bad). The mean loss rate is
//! `(p (1 - h) + r (1 - k)) / (p + r)` and a bad period lasts `1 / r` packets on average.
//! `ge:0.05,0.3` is therefore the simple Gilbert model with a mean loss of
//! 0.05 / 0.35 = 14.3 % in bursts of 3.3 packets on average. Every trial starts the chain in
//! its stationary distribution (see [`flute_testkit::LossProcess::stationary`]).
//!
//! A trace is replayed from a random offset per trial (drawn from the trial's seed), wrapping
//! around at its end; `#` starts a comment, whitespace and commas separate values.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use flute_testkit::{LossModel, LossProcess, Rng};

use crate::SimError;

/// Largest trace accepted (packets), so a mistaken file cannot exhaust memory.
pub const MAX_TRACE_PACKETS: usize = 1 << 28;
/// Largest number of cases one `iid:A..B/STEP` sweep expands to.
pub const MAX_SWEEP_POINTS: usize = 1000;

/// One loss model of a simulation case.
#[derive(Debug, Clone, PartialEq)]
pub enum LossSpec {
    /// A [`flute_testkit::LossModel`]: none, independent, or Gilbert-Elliott.
    Model(LossModel),
    /// A loss trace: `true` = lost.
    Trace {
        /// Where it was read from (for labels).
        path: PathBuf,
        /// One entry per packet, `true` = lost.
        lost: Arc<Vec<bool>>,
    },
}

impl LossSpec {
    /// Parses one `--loss` value; a sweep gives several specs.
    pub fn parse(s: &str) -> Result<Vec<Self>, SimError> {
        let bad = |reason: String| SimError::BadLoss {
            spec: s.to_string(),
            reason,
        };
        let t = s.trim();
        if t.eq_ignore_ascii_case("none") {
            return Ok(vec![Self::Model(LossModel::None)]);
        }
        if let Some(path) = t.strip_prefix("trace:") {
            return Ok(vec![Self::read_trace(Path::new(path))?]);
        }
        if let Some(args) = t.strip_prefix("ge:").or_else(|| t.strip_prefix("gilbert:")) {
            let v: Vec<f64> = args
                .split(',')
                .map(|x| parse_prob(x).map_err(&bad))
                .collect::<Result<_, _>>()?;
            let (p, r, h, k) = match v[..] {
                [p, r] => (p, r, 0.0, 1.0),
                [p, r, h] => (p, r, h, 1.0),
                [p, r, h, k] => (p, r, h, k),
                _ => {
                    return Err(bad(
                        "Gilbert-Elliott takes ge:p,r or ge:p,r,h or ge:p,r,h,k".into(),
                    ));
                }
            };
            if p + r <= 0.0 {
                return Err(bad("p + r must be > 0 (the chain must move)".into()));
            }
            return Ok(vec![Self::Model(LossModel::GilbertElliott {
                p_good_to_bad: p,
                p_bad_to_good: r,
                loss_good: 1.0 - k,
                loss_bad: 1.0 - h,
            })]);
        }
        let iid = t
            .strip_prefix("iid:")
            .or_else(|| t.strip_prefix("p:"))
            .unwrap_or(t);
        if let Some((from, rest)) = iid.split_once("..") {
            let (to, step) = rest
                .split_once('/')
                .ok_or_else(|| bad("a sweep is iid:FROM..TO/STEP".into()))?;
            let (from, to, step) = (
                parse_prob(from).map_err(&bad)?,
                parse_prob(to).map_err(&bad)?,
                parse_prob(step).map_err(&bad)?,
            );
            if step <= 0.0 || to < from {
                return Err(bad("a sweep needs FROM <= TO and STEP > 0".into()));
            }
            let points = ((to - from) / step + 1e-9).floor() as usize + 1;
            if points > MAX_SWEEP_POINTS {
                return Err(bad(format!("more than {MAX_SWEEP_POINTS} points")));
            }
            return Ok((0..points)
                .map(|i| {
                    // Round to 12 digits so that 0.1 + 2 * 0.1 prints as 0.3.
                    let p = ((from + step * i as f64) * 1e12).round() / 1e12;
                    Self::Model(LossModel::Uniform(p.min(1.0)))
                })
                .collect());
        }
        let p = parse_prob(iid).map_err(bad)?;
        Ok(vec![Self::Model(if p == 0.0 {
            LossModel::None
        } else {
            LossModel::Uniform(p)
        })])
    }

    /// Reads a trace file: `0` = received, `1` = lost, one per packet.
    pub fn read_trace(path: &Path) -> Result<Self, SimError> {
        let bad = |reason: String| SimError::Trace {
            path: path.to_path_buf(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let mut lost = Vec::new();
        for (line_no, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("");
            for tok in line.split(|c: char| c.is_whitespace() || c == ',') {
                match tok {
                    "" => {}
                    "0" => lost.push(false),
                    "1" => lost.push(true),
                    other => {
                        return Err(bad(format!(
                            "line {}: {other:?} is neither 0 (received) nor 1 (lost)",
                            line_no + 1
                        )));
                    }
                }
                if lost.len() > MAX_TRACE_PACKETS {
                    return Err(bad(format!("more than {MAX_TRACE_PACKETS} packets")));
                }
            }
        }
        if lost.is_empty() {
            return Err(bad("no packet in the trace".into()));
        }
        Ok(Self::Trace {
            path: path.to_path_buf(),
            lost: Arc::new(lost),
        })
    }

    /// The canonical text of the spec (what the CSV shows; it parses back to the same spec).
    pub fn label(&self) -> String {
        match self {
            Self::Model(LossModel::None) => "none".into(),
            Self::Model(LossModel::Uniform(p)) => format!("iid:{p}"),
            Self::Model(LossModel::GilbertElliott {
                p_good_to_bad,
                p_bad_to_good,
                loss_good,
                loss_bad,
            }) => {
                let (h, k) = (1.0 - loss_bad, 1.0 - loss_good);
                let mut s = format!("ge:{p_good_to_bad},{p_bad_to_good}");
                if h != 0.0 || k != 1.0 {
                    s.push_str(&format!(",{}", round12(h)));
                }
                if k != 1.0 {
                    s.push_str(&format!(",{}", round12(k)));
                }
                s
            }
            Self::Trace { path, .. } => format!("trace:{}", path.display()),
        }
    }

    /// The family, for grouping points into curves: `none`/`iid` together, `ge`, `trace`.
    pub fn family(&self) -> &'static str {
        match self {
            Self::Model(LossModel::None | LossModel::Uniform(_)) => "iid",
            Self::Model(LossModel::GilbertElliott { .. }) => "ge",
            Self::Trace { .. } => "trace",
        }
    }

    /// The long-run loss rate of the model; for a trace, its fraction of ones.
    pub fn mean_loss(&self) -> f64 {
        match self {
            Self::Model(m) => m.mean_loss(),
            Self::Trace { lost, .. } => {
                lost.iter().filter(|&&l| l).count() as f64 / lost.len() as f64
            }
        }
    }

    /// A fresh loss source for one trial, drawing from `rng`.
    pub(crate) fn start(&self, rng: &mut Rng) -> LossSource {
        match self {
            Self::Model(m) => LossSource::Model(LossProcess::stationary(*m, rng)),
            Self::Trace { lost, .. } => {
                let at = rng.below(lost.len() as u64) as usize;
                LossSource::Trace {
                    lost: Arc::clone(lost),
                    at,
                }
            }
        }
    }
}

/// The per-trial state of a loss model.
#[derive(Debug)]
pub(crate) enum LossSource {
    Model(LossProcess),
    Trace { lost: Arc<Vec<bool>>, at: usize },
}

impl LossSource {
    /// Whether the next packet is lost.
    pub(crate) fn lost(&mut self, rng: &mut Rng) -> bool {
        match self {
            Self::Model(p) => p.lost(rng),
            Self::Trace { lost, at } => {
                let l = lost.get(*at).copied().unwrap_or(false);
                *at += 1;
                if *at >= lost.len() {
                    *at = 0;
                }
                l
            }
        }
    }
}

fn round12(x: f64) -> f64 {
    (x * 1e12).round() / 1e12
}

/// A probability: `0.1` or `10%`.
fn parse_prob(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let (num, scale) = match t.strip_suffix('%') {
        Some(n) => (n, 100.0),
        None => (t, 1.0),
    };
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a probability (examples: 0.1, 10%)"))?;
    let v = v / scale;
    if !(0.0..=1.0).contains(&v) {
        return Err(format!("{s:?} is outside [0, 1]"));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(s: &str) -> LossSpec {
        let mut v = LossSpec::parse(s).unwrap();
        assert_eq!(v.len(), 1, "{s}");
        v.remove(0)
    }

    #[test]
    fn specs_parse_and_print_back() {
        assert_eq!(one("none"), LossSpec::Model(LossModel::None));
        assert_eq!(one("0"), LossSpec::Model(LossModel::None));
        assert_eq!(one("10%"), LossSpec::Model(LossModel::Uniform(0.1)));
        assert_eq!(one("p:0.2").label(), "iid:0.2");
        let ge = one("ge:0.05,0.3");
        assert_eq!(ge.label(), "ge:0.05,0.3");
        assert!((ge.mean_loss() - 0.05 / 0.35).abs() < 1e-12);
        assert_eq!(ge.family(), "ge");
        let ge = one("ge:0.1,0.4,0.25,0.99");
        assert_eq!(ge.label(), "ge:0.1,0.4,0.25,0.99");
        assert_eq!(one(&ge.label()), ge);
        // mean = (p (1 - h) + r (1 - k)) / (p + r)
        let want = (0.1 * 0.75 + 0.4 * 0.01) / 0.5;
        assert!((ge.mean_loss() - want).abs() < 1e-12);
        assert_eq!(one("ge:0.1,0.4,0.5").label(), "ge:0.1,0.4,0.5");
    }

    #[test]
    fn sweeps_expand() {
        let v = LossSpec::parse("iid:0.1..0.3/0.1").unwrap();
        let labels: Vec<String> = v.iter().map(LossSpec::label).collect();
        assert_eq!(labels, ["iid:0.1", "iid:0.2", "iid:0.3"]);
        assert!(LossSpec::parse("iid:0.3..0.1/0.1").is_err());
        assert!(LossSpec::parse("iid:0..1/0.0001").is_err());
    }

    #[test]
    fn bad_specs_are_typed_errors() {
        for s in [
            "",
            "-0.1",
            "1.5",
            "ge:0.1",
            "ge:0,0",
            "ge:a,b",
            "ge:1,2,3,4,5",
            "iid:x",
            "x%",
        ] {
            assert!(
                matches!(LossSpec::parse(s), Err(SimError::BadLoss { .. })),
                "{s:?}"
            );
        }
        assert!(matches!(
            LossSpec::parse("trace:/nonexistent/fec-sim-trace"),
            Err(SimError::Trace { .. })
        ));
    }

    #[test]
    fn traces_are_read_and_replayed_with_wraparound() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.txt");
        std::fs::write(&path, "# a trace\n0\n1\n1 0, 0\n").unwrap();
        let spec = one(&format!("trace:{}", path.display()));
        assert!((spec.mean_loss() - 0.4).abs() < 1e-12);
        let LossSpec::Trace { lost, .. } = &spec else {
            panic!("not a trace")
        };
        assert_eq!(**lost, [false, true, true, false, false]);
        let mut rng = Rng::new(1);
        let mut src = spec.start(&mut rng);
        let LossSource::Trace { at, .. } = src else {
            panic!("not a trace source")
        };
        let got: Vec<bool> = (0..10).map(|_| src.lost(&mut rng)).collect();
        let want: Vec<bool> = (0..10).map(|i| lost[(at + i) % 5]).collect();
        assert_eq!(got, want);

        std::fs::write(&path, "0\n2\n").unwrap();
        assert!(matches!(
            LossSpec::read_trace(&path),
            Err(SimError::Trace { .. })
        ));
        std::fs::write(&path, "# nothing\n").unwrap();
        assert!(matches!(
            LossSpec::read_trace(&path),
            Err(SimError::Trace { .. })
        ));
    }
}
