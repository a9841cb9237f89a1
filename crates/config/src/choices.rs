//! Settings whose value is one word out of a closed set, as enums.
//!
//! A string that can only be `"deny"`, `"allowlist"` or `"full"` is a type, not a string: as an
//! enum, a typo in the code is a compile error, a `match` shows every case, and the accepted
//! spellings live in one place ([`ExecSecurity::VALUES`] and friends) that the schema
//! (`schema/openclaw.rs`) validates against. Validation runs before these are deserialised, so
//! a value that reaches them is one the schema accepted; the spellings the original OpenClaw
//! accepts and we don't implement yet were warned about there (with the accepted values) and
//! deserialise as described on each field.

use std::fmt;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Declares an enum of config words: its variants with their spellings, `VALUES`, `as_str`,
/// `parse`, `Display`, and serde as the spelling.
macro_rules! config_words {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every accepted spelling, as the config writes it.
            pub const VALUES: &'static [&'static str] = &[$($text),+];

            /// The config spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( Self::$variant => $text, )+
                }
            }

            /// The value a config spelling names.
            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $( $text => Some(Self::$variant), )+
                    _ => None,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                Self::parse(&text).ok_or_else(|| {
                    D::Error::custom(format!(
                        "unknown value \"{text}\", expected one of {}",
                        Self::VALUES.join(", ")
                    ))
                })
            }
        }
    };
}

config_words! {
    /// `agents.defaults.thinkingDefault`: how hard a reasoning model thinks when a run does
    /// not say (`--thinking`, `reasoning_effort`, a session's setting).
    pub enum ThinkingLevel {
        Off = "off",
        Minimal = "minimal",
        Low = "low",
        Medium = "medium",
        High = "high",
        XHigh = "xhigh",
    }
}

impl ThinkingLevel {
    /// Levels the original OpenClaw accepts that openclaw-rs ignores (with a warning): the
    /// model's own default applies.
    pub const IGNORED: &'static [&'static str] = &["adaptive", "max", "ultra"];
}

config_words! {
    /// `gateway.auth.mode`: how clients of the gateway authenticate.
    #[derive(Default)]
    pub enum GatewayAuthMode {
        /// A bearer token (configured, `OPENCLAW_GATEWAY_TOKEN`, or generated on first start).
        #[default]
        Token = "token",
        /// No authentication: allowed on loopback only.
        Disabled = "none",
        /// The original's password mode: refused at start by openclaw-rs.
        Password = "password",
        /// The original's trusted-proxy mode: refused at start by openclaw-rs.
        TrustedProxy = "trusted-proxy",
    }
}

impl GatewayAuthMode {
    /// The modes openclaw-rs implements; the others load with a warning and are refused when
    /// the gateway starts.
    pub const IMPLEMENTED: &'static [&'static str] = &["token", "none"];
    /// The original's modes that openclaw-rs does not implement.
    pub const NOT_IMPLEMENTED: &'static [&'static str] = &["password", "trusted-proxy"];
}

config_words! {
    /// `tools.exec.security`: whether the `exec` tool runs commands at all, and which.
    #[derive(Default)]
    pub enum ExecSecurity {
        /// `exec` is disabled.
        Deny = "deny",
        /// The read-only built-ins and `safeBins` run without asking; the rest is asked for.
        #[default]
        Allowlist = "allowlist",
        /// Every command runs without asking (unless `ask` is `always`).
        Full = "full",
    }
}

config_words! {
    /// `tools.exec.ask`: when a person is asked before a command runs.
    #[derive(Default)]
    pub enum ExecAsk {
        Off = "off",
        /// When the command is not allowed without asking.
        #[default]
        OnMiss = "on-miss",
        Always = "always",
    }
}

config_words! {
    /// `tools.exec.sandbox`: how the OS confines the commands the agent runs.
    #[derive(Default)]
    pub enum ExecSandbox {
        /// Read the system and the workspace, write only the workspace and a private temp dir.
        #[default]
        WorkspaceWrite = "workspace-write",
        /// Read the system and the workspace, write only a private temp dir.
        ReadOnly = "read-only",
        /// No OS sandbox (the environment is still cleaned).
        Off = "off",
    }
}

/// For `#[serde(deserialize_with)]` on an optional word whose spellings include ones the
/// original accepts and we ignore: those (already warned about by validation) become `None`,
/// so the default applies.
pub(crate) fn ignoring_unknown<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    let value = Option::<serde_json::Value>::deserialize(deserializer)?;
    Ok(value.and_then(|v| T::deserialize(v).ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_round_trips() {
        fn check<T: Serialize + for<'de> Deserialize<'de> + fmt::Debug + PartialEq>(
            values: &[&str],
        ) {
            for v in values {
                let parsed: T = serde_json::from_value(serde_json::json!(v)).unwrap();
                assert_eq!(serde_json::to_value(&parsed).unwrap(), serde_json::json!(v));
            }
        }
        check::<ThinkingLevel>(ThinkingLevel::VALUES);
        check::<GatewayAuthMode>(GatewayAuthMode::VALUES);
        check::<ExecSecurity>(ExecSecurity::VALUES);
        check::<ExecAsk>(ExecAsk::VALUES);
        check::<ExecSandbox>(ExecSandbox::VALUES);
    }

    #[test]
    fn an_unknown_word_is_an_error_naming_the_accepted_ones() {
        let err = serde_json::from_value::<ExecAsk>(serde_json::json!("sometimes"))
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "unknown value \"sometimes\", expected one of off, on-miss, always"
        );
    }

    #[test]
    fn auth_modes_split_into_implemented_and_not() {
        let mut all: Vec<&str> = GatewayAuthMode::IMPLEMENTED.to_vec();
        all.extend(GatewayAuthMode::NOT_IMPLEMENTED);
        assert_eq!(all, GatewayAuthMode::VALUES);
    }
}
