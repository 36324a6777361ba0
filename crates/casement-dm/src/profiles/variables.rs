//! Variables in setting values, expanded per device: `$DEVICE_ID`, `$DEVICE_NAME`, `$UPN`,
//! `$USER_SID`.
//!
//! A variable is `$` followed by a name `[A-Z_][A-Z0-9_]*` (the longest such run). `$$` is an
//! escaped, literal `$` (so `$$UPN` is the text `$UPN`, never expanded). A `$` followed by
//! anything else (`$5`, `$x`, a lone `$` at the end) is literal text.

/// What a device's variables expand to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceVariables {
    /// The device id (`./DevInfo/DevId`).
    pub device_id: String,
    /// The device's name, when known.
    pub device_name: Option<String>,
    /// The enrolled user's UPN.
    pub upn: String,
    /// The enrolled user's SID, when known.
    pub user_sid: Option<String>,
}

/// The variables a value may use.
pub const VARIABLES: [&str; 4] = ["$DEVICE_ID", "$DEVICE_NAME", "$UPN", "$USER_SID"];

/// One piece of a value: literal text or a variable (its name without `$`).
enum Token<'a> {
    Text(&'a str),
    Variable(&'a str),
}

/// Splits `value` into literal text and variables; `$$` yields the text `$`.
fn tokens(value: &str) -> Vec<Token<'_>> {
    let bytes = value.as_bytes();
    let mut out = Vec::new();
    let (mut i, mut text_start) = (0, 0);
    while i < bytes.len() {
        if bytes[i] != b'$' {
            i += 1;
            continue;
        }
        if bytes.get(i + 1) == Some(&b'$') {
            out.push(Token::Text(&value[text_start..=i]));
            i += 2;
            text_start = i;
            continue;
        }
        let starts_name = bytes
            .get(i + 1)
            .is_some_and(|b| b.is_ascii_uppercase() || *b == b'_');
        if !starts_name {
            i += 1;
            continue;
        }
        let end = bytes[i + 1..]
            .iter()
            .position(|b| !(b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_'))
            .map_or(bytes.len(), |n| i + 1 + n);
        out.push(Token::Text(&value[text_start..i]));
        out.push(Token::Variable(&value[i + 1..end]));
        i = end;
        text_start = end;
    }
    out.push(Token::Text(&value[text_start..]));
    out
}

/// `value` with every variable replaced by what `resolve` gives for its name (`DEVICE_ID`,
/// without `$`); a name `resolve` does not know stays as written. `$$` becomes `$`.
pub fn substitute(value: &str, mut resolve: impl FnMut(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(value.len());
    for token in tokens(value) {
        match token {
            Token::Text(text) => out.push_str(text),
            Token::Variable(name) => match resolve(name) {
                Some(replacement) => out.push_str(&replacement),
                None => {
                    out.push('$');
                    out.push_str(name);
                }
            },
        }
    }
    out
}

/// `template` with every variable replaced by the device's value (an unknown value: empty).
/// `$$` is a literal `$`; an unknown variable is left as written (validation refuses it).
pub fn expand(template: &str, vars: &DeviceVariables) -> String {
    substitute(template, |name| match name {
        "DEVICE_ID" => Some(vars.device_id.clone()),
        "DEVICE_NAME" => Some(vars.device_name.clone().unwrap_or_default()),
        "UPN" => Some(vars.upn.clone()),
        "USER_SID" => Some(vars.user_sid.clone().unwrap_or_default()),
        _ => None,
    })
}

/// Every variable token in `value`, with its `$` (`["$UPN", "$FOO"]`), in order, repeated as
/// often as it appears; `$$` escapes are not variables.
pub fn variables_in(value: &str) -> Vec<String> {
    tokens(value)
        .into_iter()
        .filter_map(|t| match t {
            Token::Variable(name) => Some(format!("${name}")),
            Token::Text(_) => None,
        })
        .collect()
}

/// The variables in `value` that are not in [`VARIABLES`], each once, in order.
pub fn unknown_variables(value: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for var in variables_in(value) {
        if !VARIABLES.contains(&var.as_str()) && !out.contains(&var) {
            out.push(var);
        }
    }
    out
}

/// A plausible value for each known variable, used to check a value's format before any
/// device is known (`$UPN` in an `int` cannot become an int; in a `chr` it can).
pub fn sample_expansion(value: &str) -> String {
    substitute(value, |name| {
        Some(
            match name {
                "DEVICE_ID" => "6F9619FF-8B86-D011-B42D-00C04FC964FF",
                "DEVICE_NAME" => "DESKTOP-1A2B3C4",
                "UPN" => "user@example.com",
                "USER_SID" => "S-1-5-21-1004336348-1177238915-682003330-512",
                _ => return None,
            }
            .to_owned(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> DeviceVariables {
        DeviceVariables {
            device_id: "DEV1".into(),
            device_name: Some("PC-1".into()),
            upn: "a@b.c".into(),
            user_sid: None,
        }
    }

    #[test]
    fn expand_replaces_every_known_variable() {
        assert_eq!(
            expand("$DEVICE_ID/$DEVICE_NAME/$UPN/$USER_SID.", &vars()),
            "DEV1/PC-1/a@b.c/."
        );
    }

    #[test]
    fn expand_treats_double_dollar_as_a_literal_dollar() {
        assert_eq!(
            expand("cost $$5 and $$UPN is $UPN", &vars()),
            "cost $5 and $UPN is a@b.c"
        );
    }

    #[test]
    fn expand_leaves_unknown_variables_and_lone_dollars() {
        assert_eq!(expand("$FOO $ $x $1", &vars()), "$FOO $ $x $1");
    }

    #[test]
    fn a_longer_name_is_not_a_known_variable() {
        // `$UPNX` is one token, not `$UPN` followed by `X`.
        assert_eq!(expand("$UPNX", &vars()), "$UPNX");
        assert_eq!(unknown_variables("$UPNX"), ["$UPNX"]);
    }

    #[test]
    fn variables_in_lists_every_token() {
        assert_eq!(
            variables_in("a $UPN b $FOO_1 $UPN $$NOT c$"),
            ["$UPN", "$FOO_1", "$UPN"]
        );
        assert!(variables_in("no variables, $lower").is_empty());
    }

    #[test]
    fn unknown_variables_lists_each_unknown_once() {
        assert_eq!(
            unknown_variables("$UPN $SERIAL $SERIAL $_X"),
            ["$SERIAL", "$_X"]
        );
        assert!(unknown_variables("$DEVICE_ID $USER_SID").is_empty());
    }

    #[test]
    fn sample_expansion_fills_known_variables_only() {
        assert_eq!(sample_expansion("$UPN"), "user@example.com");
        assert_eq!(sample_expansion("$FOO"), "$FOO");
    }
}
