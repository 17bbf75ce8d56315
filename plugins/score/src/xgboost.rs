//! XGBoost tree ensembles, read from the JSON model format `Booster.save_model("m.json")`
//! writes (XGBoost 1.0 and later; checked against 3.x files).
//!
//! Prediction follows XGBoost's CPU predictor, in its float32 arithmetic, so results match
//! the library's to the last bit in practice: features are converted to float32; at each
//! split a missing value (null or NaN) goes the node's default way, any other value goes
//! left when `value < threshold`; the margin starts at the base score (turned into a
//! margin by the objective's link) and adds each tree's leaf value in tree order, in
//! float32; the objective's link then turns the margin into the prediction (the sigmoid for
//! `binary:logistic`, the exponential for count and gamma objectives, nothing for squared
//! error).
//!
//! Supported: the `gbtree` booster with numerical splits, one target, one output group
//! (regression and binary classification). Refused with a message at load: `gblinear`,
//! `dart`, multi-class and multi-target models, categorical splits, vector leaves.

use serde::Deserialize;
use serde_json::Value;

/// The parts of the model file that prediction needs (unknown keys are ignored: the file
/// holds training parameters too).
#[derive(Deserialize)]
pub struct XgbFile {
    learner: Learner,
}

#[derive(Deserialize)]
struct Learner {
    #[serde(default)]
    feature_names: Vec<String>,
    gradient_booster: Booster,
    learner_model_param: ModelParam,
    objective: Objective,
}

#[derive(Deserialize)]
struct Booster {
    name: String,
    /// Parsed as a [`Model`] only once the booster is known to be a `gbtree`: other boosters
    /// store other things here.
    #[serde(default)]
    model: Value,
}

#[derive(Deserialize)]
struct Model {
    trees: Vec<TreeFile>,
    #[serde(default)]
    tree_info: Vec<i64>,
}

#[derive(Deserialize)]
struct ModelParam {
    base_score: String,
    #[serde(default)]
    num_class: Option<String>,
    #[serde(default)]
    num_feature: Option<String>,
    #[serde(default)]
    num_target: Option<String>,
}

#[derive(Deserialize)]
struct Objective {
    name: String,
}

#[derive(Deserialize)]
struct TreeFile {
    left_children: Vec<i64>,
    right_children: Vec<i64>,
    split_indices: Vec<i64>,
    split_conditions: Vec<f64>,
    default_left: Vec<Value>,
    #[serde(default)]
    split_type: Vec<i64>,
    #[serde(default)]
    tree_param: Option<TreeParam>,
}

#[derive(Deserialize)]
struct TreeParam {
    #[serde(default)]
    size_leaf_vector: Option<String>,
}

/// How the margin becomes a prediction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Link {
    Identity,
    Sigmoid,
    Exp,
}

/// One tree, flattened; children always come after their parent (checked at load), so a
/// walk from the root ends.
struct Tree {
    /// Left child per node; -1 for a leaf.
    left: Vec<i32>,
    right: Vec<i32>,
    feature: Vec<u32>,
    /// The threshold of a split, the value of a leaf.
    value: Vec<f32>,
    default_left: Vec<bool>,
}

impl Tree {
    fn leaf(&self, row: &[f32]) -> f32 {
        let mut node = 0usize;
        loop {
            let left = self.left[node];
            if left < 0 {
                return self.value[node];
            }
            let x = row[self.feature[node] as usize];
            let go_left = if x.is_nan() {
                self.default_left[node]
            } else {
                x < self.value[node]
            };
            node = if go_left { left } else { self.right[node] } as usize;
        }
    }
}

/// A loaded ensemble.
pub struct Xgb {
    trees: Vec<Tree>,
    /// The starting margin.
    base_margin: f32,
    link: Link,
    /// Number of features the model reads.
    pub num_features: usize,
}

/// XGBoost's sigmoid, in float32 as `common::Sigmoid` computes it.
fn sigmoid(x: f32) -> f32 {
    let e = (-x).min(88.7).exp();
    1.0 / (e + 1.0 + 1e-16)
}

fn parse_base_score(s: &str) -> Result<f32, String> {
    // XGBoost 3.1 writes a vector (`[5E-1]`); earlier versions a scalar (`5E-1`).
    let inner = s.trim().trim_start_matches('[').trim_end_matches(']');
    let mut parts = inner.split(',');
    let first = parts.next().unwrap_or("").trim();
    if parts.next().is_some() {
        return Err(format!(
            "base_score {s} has several values (multi-target models are not supported)"
        ));
    }
    first
        .parse::<f32>()
        .map_err(|_| format!("base_score `{s}` is not a number"))
}

fn count(param: &Option<String>) -> Result<usize, String> {
    param
        .as_deref()
        .map_or(Ok(0), |s| s.trim().parse::<usize>())
        .map_err(|_| format!("`{param:?}` is not a count"))
}

impl Xgb {
    /// Check and load `file`; the model's feature names (empty when it has none).
    ///
    /// # Errors
    /// A message naming what the plugin cannot use in the file.
    pub fn load(file: XgbFile) -> Result<(Self, Vec<String>), String> {
        let l = file.learner;
        if l.gradient_booster.name != "gbtree" {
            return Err(format!(
                "booster `{}` is not supported; only gbtree (the default) is",
                l.gradient_booster.name
            ));
        }
        let model: Model =
            serde_path_to_error::deserialize(l.gradient_booster.model).map_err(|e| {
                format!(
                    "not a model this plugin reads: at `learner.gradient_booster.model.{}`: {}",
                    e.path(),
                    e.inner()
                )
            })?;
        if count(&l.learner_model_param.num_class)? > 1 {
            return Err("multi-class models are not supported; use binary:logistic or a regression objective".into());
        }
        if count(&l.learner_model_param.num_target)? > 1 {
            return Err("multi-target models are not supported".into());
        }
        if model.tree_info.iter().any(|&g| g != 0) {
            return Err(
                "trees of several output groups: multi-output models are not supported".into(),
            );
        }
        let objective = l.objective.name.as_str();
        let link = match objective {
            "reg:squarederror"
            | "reg:linear"
            | "reg:squaredlogerror"
            | "reg:pseudohubererror"
            | "reg:absoluteerror"
            | "reg:quantileerror"
            | "binary:logitraw"
            | "rank:pairwise"
            | "rank:ndcg"
            | "rank:map" => Link::Identity,
            "binary:logistic" | "reg:logistic" => Link::Sigmoid,
            "count:poisson" | "reg:gamma" | "reg:tweedie" | "survival:cox" => Link::Exp,
            other => return Err(format!("objective `{other}` is not supported")),
        };
        let base_score = parse_base_score(&l.learner_model_param.base_score)?;
        let base_margin = match link {
            Link::Identity => base_score,
            Link::Sigmoid => -(1.0f32 / base_score - 1.0).ln(),
            Link::Exp => base_score.ln(),
        };
        if !base_margin.is_finite() {
            return Err(format!(
                "base_score {base_score} has no finite margin under objective {objective}"
            ));
        }
        let mut num_features = count(&l.learner_model_param.num_feature)?;
        let mut trees = Vec::with_capacity(model.trees.len());
        for (t, tree) in model.trees.into_iter().enumerate() {
            let loaded = load_tree(tree).map_err(|m| format!("tree {t}: {m}"))?;
            if let Some(&max) = loaded.feature.iter().max() {
                num_features = num_features.max(max as usize + 1);
            }
            trees.push(loaded);
        }
        if !l.feature_names.is_empty() && l.feature_names.len() != num_features {
            return Err(format!(
                "{} feature names for {num_features} features",
                l.feature_names.len()
            ));
        }
        Ok((
            Xgb {
                trees,
                base_margin,
                link,
                num_features,
            },
            l.feature_names,
        ))
    }

    /// The prediction for one row of float32 features (NaN = missing).
    pub fn predict(&self, row: &[f32]) -> f32 {
        let mut margin = self.base_margin;
        for tree in &self.trees {
            margin += tree.leaf(row);
        }
        match self.link {
            Link::Identity => margin,
            Link::Sigmoid => sigmoid(margin),
            Link::Exp => margin.exp(),
        }
    }
}

fn load_tree(t: TreeFile) -> Result<Tree, String> {
    let n = t.left_children.len();
    if n == 0 {
        return Err("no nodes".into());
    }
    if [
        t.right_children.len(),
        t.split_indices.len(),
        t.split_conditions.len(),
        t.default_left.len(),
    ]
    .iter()
    .any(|&m| m != n)
    {
        return Err("node arrays of different lengths".into());
    }
    if t.split_type.iter().any(|&s| s != 0) {
        return Err("categorical splits are not supported".into());
    }
    if let Some(size) = t.tree_param.and_then(|p| p.size_leaf_vector)
        && !matches!(size.trim(), "0" | "1")
    {
        return Err("vector leaves are not supported".into());
    }
    let mut left = Vec::with_capacity(n);
    let mut right = Vec::with_capacity(n);
    let mut feature = Vec::with_capacity(n);
    for node in 0..n {
        let (l, r) = (t.left_children[node], t.right_children[node]);
        if l == -1 {
            left.push(-1);
            right.push(-1);
            feature.push(0);
            continue;
        }
        // Children after their parent: the walk from the root always ends.
        for c in [l, r] {
            if c <= node as i64 || c >= n as i64 {
                return Err(format!(
                    "node {node} has child {c}, outside {}..{n}",
                    node + 1
                ));
            }
        }
        let f = u32::try_from(t.split_indices[node])
            .map_err(|_| format!("node {node} splits on feature {}", t.split_indices[node]))?;
        left.push(l as i32);
        right.push(r as i32);
        feature.push(f);
    }
    let default_left = t
        .default_left
        .iter()
        .map(|v| match v {
            Value::Bool(b) => Ok(*b),
            Value::Number(n) => Ok(n.as_u64() == Some(1)),
            other => Err(format!("default_left holds {other}")),
        })
        .collect::<Result<_, _>>()?;
    Ok(Tree {
        left,
        right,
        feature,
        value: t.split_conditions.iter().map(|&v| v as f32).collect(),
        default_left,
    })
}
