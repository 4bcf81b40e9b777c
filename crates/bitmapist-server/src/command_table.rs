//! The command table: every command the server knows, with its Redis name and arity.
//!
//! Why: dispatch (`commands`) and the statistics (`stats`, per command) both need the list;
//! kept apart from both, it depends on nothing, so neither depends on the other.
//!
//! How: one macro invocation lists each command once (variant, upper-case name, Redis's
//! lower-case name, arity); the enum, [`Command::ALL`], the name and arity look-ups are
//! generated from it. Adding a command is one line here and its arm in `commands`.

/// Declares the command table: variant, upper-case name, Redis's lower-case name, arity
/// (positive: exactly that many arguments with the name; negative: at least minus that).
macro_rules! commands {
    ($($variant:ident $upper:literal $lower:literal $arity:literal,)*) => {
        /// Every command the server knows (`CommandCmd` is Redis's `COMMAND`).
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[allow(clippy::enum_variant_names)]
        pub enum Command {
            $(
                #[doc = concat!("The `", $lower, "` command.")]
                $variant,
            )*
        }

        impl Command {
            /// Every command, in table order.
            pub const ALL: &[Command] = &[$(Command::$variant,)*];

            /// The command called `upper` (already upper-case).
            fn from_upper(upper: &[u8]) -> Option<Self> {
                match upper {
                    $($upper => Some(Command::$variant),)*
                    _ => None,
                }
            }

            /// Redis's name for it, lower case (as in arity errors).
            pub fn name(self) -> &'static str {
                match self {
                    $(Command::$variant => $lower,)*
                }
            }

            /// Its arity, Redis style.
            pub fn arity(self) -> i32 {
                match self {
                    $(Command::$variant => $arity,)*
                }
            }
        }
    };
}

commands! {
    SetBit b"SETBIT" "setbit" 4,
    GetBit b"GETBIT" "getbit" 3,
    BitCount b"BITCOUNT" "bitcount" -2,
    BitOp b"BITOP" "bitop" -4,
    Get b"GET" "get" 2,
    Set b"SET" "set" -3,
    MGet b"MGET" "mget" -2,
    StrLen b"STRLEN" "strlen" 2,
    Exists b"EXISTS" "exists" -2,
    Del b"DEL" "del" -2,
    Unlink b"UNLINK" "unlink" -2,
    Keys b"KEYS" "keys" 2,
    Scan b"SCAN" "scan" -2,
    Type b"TYPE" "type" 2,
    Rename b"RENAME" "rename" 3,
    RenameNx b"RENAMENX" "renamenx" 3,
    DbSize b"DBSIZE" "dbsize" 1,
    FlushDb b"FLUSHDB" "flushdb" -1,
    FlushAll b"FLUSHALL" "flushall" -1,
    Ttl b"TTL" "ttl" 2,
    PTtl b"PTTL" "pttl" 2,
    ExpireTime b"EXPIRETIME" "expiretime" 2,
    PExpireTime b"PEXPIRETIME" "pexpiretime" 2,
    Expire b"EXPIRE" "expire" -3,
    PExpire b"PEXPIRE" "pexpire" -3,
    ExpireAt b"EXPIREAT" "expireat" -3,
    PExpireAt b"PEXPIREAT" "pexpireat" -3,
    Persist b"PERSIST" "persist" 2,
    Ping b"PING" "ping" -1,
    Echo b"ECHO" "echo" 2,
    Quit b"QUIT" "quit" -1,
    Select b"SELECT" "select" 2,
    Hello b"HELLO" "hello" -1,
    Auth b"AUTH" "auth" -2,
    Client b"CLIENT" "client" -2,
    CommandCmd b"COMMAND" "command" -1,
    Config b"CONFIG" "config" -2,
    Info b"INFO" "info" -1,
    Latency b"LATENCY" "latency" -2,
    SlowLog b"SLOWLOG" "slowlog" -2,
    BgSave b"BGSAVE" "bgsave" -1,
    Save b"SAVE" "save" 1,
    LastSave b"LASTSAVE" "lastsave" 1,
    Shutdown b"SHUTDOWN" "shutdown" -1,
    Time b"TIME" "time" 1,
    Slurp b"SLURP" "slurp" -2,
    MultiCmd b"MULTI" "multi" 1,
    Exec b"EXEC" "exec" 1,
    Discard b"DISCARD" "discard" 1,
    Watch b"WATCH" "watch" -2,
    Unwatch b"UNWATCH" "unwatch" 1,
}

impl Command {
    /// The command called `name`, in any case.
    pub fn lookup(name: &[u8]) -> Option<Self> {
        let mut upper = [0u8; 16];
        let slot = upper.get_mut(..name.len())?;
        for (u, b) in slot.iter_mut().zip(name) {
            *u = b.to_ascii_uppercase();
        }
        Self::from_upper(slot)
    }

    /// Whether `argc` arguments (the name included) fit the arity.
    pub(crate) fn accepts(self, argc: usize) -> bool {
        let arity = self.arity();
        let n = i64::try_from(argc).unwrap_or(i64::MAX);
        if arity >= 0 {
            n == i64::from(arity)
        } else {
            n >= -i64::from(arity)
        }
    }
}
