//! `HarnessMode`: whether scripts run, are only validated, or are refused.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HarnessMode {
    Disabled,
    DryRun,
    #[default]
    Enabled,
}
