//! The storage edge of the typed vocabulary: every enum a row carries (platform, command kind,
//! class and state, session context, channel and push state) is written as its stable name (its
//! `as_str`) and read back through [`Stored`]. Nothing past this module sees a name as a string; a name the
//! code does not know reads as [`StoreError::Corrupt`], never as a default.

use casement_store::{
    ChannelState, CommandClass, CommandKind, CommandState, Context, Platform, PushState,
    StoreError, StoreResult,
};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{corrupt, map_err};

/// An enum stored as its name (`as_str`), read back with `from_name`.
pub(crate) trait Stored: Sized + Copy {
    /// What the name is of, for the corruption message.
    const WHAT: &'static str;
    /// The value for a stored name.
    fn from_stored(name: &str) -> Option<Self>;
}

macro_rules! stored {
    ($($ty:ty => $what:literal),* $(,)?) => {$(
        impl Stored for $ty {
            const WHAT: &'static str = $what;
            fn from_stored(name: &str) -> Option<Self> {
                Self::from_name(name)
            }
        }
    )*};
}

stored! {
    Platform => "platform",
    CommandKind => "command kind",
    CommandClass => "command class",
    CommandState => "command state",
    Context => "context",
    ChannelState => "channel state",
    PushState => "push state",
}

/// The name in a stored column as the enum it names.
pub(crate) fn parse<T: Stored>(name: &str) -> StoreResult<T> {
    T::from_stored(name).ok_or_else(|| unknown::<T>(name))
}

/// The enum named in column `col`.
pub(crate) fn get<T: Stored>(row: &AnyRow, col: &str) -> StoreResult<T> {
    let name: String = row.try_get(col).map_err(map_err)?;
    parse(&name)
}

/// The enum named in nullable column `col`.
pub(crate) fn get_opt<T: Stored>(row: &AnyRow, col: &str) -> StoreResult<Option<T>> {
    let name: Option<String> = row.try_get(col).map_err(map_err)?;
    name.as_deref().map(parse).transpose()
}

fn unknown<T: Stored>(name: &str) -> StoreError {
    corrupt(format!("unknown {} {name:?}", T::WHAT))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_name_reads_as_corrupt_naming_what_it_was() {
        let err = parse::<CommandClass>("teleport").unwrap_err();
        assert!(
            matches!(&err, StoreError::Corrupt(m) if m == "unknown command class \"teleport\""),
            "{err:?}"
        );
        assert_eq!(parse::<Context>("Apps").unwrap(), Context::Apps);
        assert_eq!(parse::<PushState>("sent").unwrap(), PushState::Sent);
    }
}
