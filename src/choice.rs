//! Enums chosen by name (on the command line, in the run log and the report): the name of
//! each value and what it means, for whatever front end lists them.

/// An enum whose values are chosen by name.
pub trait Choice: Copy + 'static {
    /// Every value, in the order they are listed.
    const ALL: &'static [Self];

    /// The value's name, as typed on the command line; serde's JSON (the run log) writes the
    /// same name.
    fn name(self) -> &'static str;

    /// One line on what the value means, if there is more to say than its name.
    fn help(self) -> Option<&'static str> {
        None
    }

    /// The value called `name` (as [`Choice::name`] spells it).
    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.name() == name)
    }
}
