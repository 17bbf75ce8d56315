//! Linear and logistic regression from exported coefficients.
//!
//! The model file is a small JSON document (`examples/retail/train.py` writes it from a
//! fitted scikit-learn `LinearRegression` / `LogisticRegression`):
//!
//! ```json
//! { "format": "quiver-linear/1", "kind": "logistic",
//!   "features": ["basket_items", "unit_price"],
//!   "coefficients": [0.12, -0.5], "intercept": 1.25 }
//! ```
//!
//! `linear` predicts `intercept + Σ coefficient × x`; `logistic` predicts the probability of
//! the positive class, `1 / (1 + e^-(intercept + Σ coefficient × x))` — what scikit-learn's
//! `predict` and `predict_proba(X)[:, 1]` return. Computed in float64, as scikit-learn does.

/// The on-disk model.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinearFile {
    /// Always `quiver-linear/1`.
    pub format: String,
    /// `linear` or `logistic`.
    pub kind: Kind,
    /// Feature names, in coefficient order.
    pub features: Vec<String>,
    /// One coefficient per feature.
    pub coefficients: Vec<f64>,
    /// The intercept.
    pub intercept: f64,
    /// Where the model came from (free text, e.g. the library and its version).
    #[serde(default)]
    #[expect(
        dead_code,
        reason = "provenance for humans: accepted so deny_unknown_fields lets it through"
    )]
    pub source: Option<String>,
}

/// Which link the model applies.
#[derive(serde::Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Identity: the prediction is the linear combination.
    Linear,
    /// Logistic: the probability of the positive class.
    Logistic,
}

/// A loaded linear model.
pub struct Linear {
    kind: Kind,
    coefficients: Vec<f64>,
    intercept: f64,
}

impl Linear {
    /// Check and load `file`; its feature names.
    ///
    /// # Errors
    /// A message naming what is wrong with the file.
    pub fn load(file: LinearFile) -> Result<(Self, Vec<String>), String> {
        if file.format != "quiver-linear/1" {
            return Err(format!("format `{}` is not quiver-linear/1", file.format));
        }
        if file.features.len() != file.coefficients.len() {
            return Err(format!(
                "{} features but {} coefficients",
                file.features.len(),
                file.coefficients.len()
            ));
        }
        if let Some(bad) = file
            .coefficients
            .iter()
            .chain([&file.intercept])
            .find(|c| !c.is_finite())
        {
            return Err(format!("coefficient {bad} is not a finite number"));
        }
        Ok((
            Linear {
                kind: file.kind,
                coefficients: file.coefficients,
                intercept: file.intercept,
            },
            file.features,
        ))
    }

    /// The prediction for one row of features (none missing).
    pub fn predict(&self, row: &[f64]) -> f64 {
        let z = self.intercept
            + row
                .iter()
                .zip(&self.coefficients)
                .map(|(x, c)| x * c)
                .sum::<f64>();
        match self.kind {
            Kind::Linear => z,
            Kind::Logistic => 1.0 / (1.0 + (-z).exp()),
        }
    }
}
