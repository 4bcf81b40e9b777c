//! Redis glob patterns (`KEYS`, `SCAN MATCH`): `*`, `?`, `[abc]`, `[^a-z]`, `\x`.
//! A port of Redis's `stringmatchlen`, byte for byte, with its guard against abusive patterns.

/// Whether `string` matches the Redis glob `pattern` (case-sensitive).
pub fn matches(pattern: &[u8], string: &[u8]) -> bool {
    let mut skip_longer = false;
    match_impl(pattern, string, &mut skip_longer, 0)
}

/// The literal prefix of `pattern` (up to its first special character): every matching key
/// starts with it.
pub fn literal_prefix(pattern: &[u8]) -> &[u8] {
    let end = pattern
        .iter()
        .position(|b| matches!(b, b'*' | b'?' | b'[' | b'\\'))
        .unwrap_or(pattern.len());
    &pattern[..end]
}

fn match_impl(mut p: &[u8], mut s: &[u8], skip_longer: &mut bool, nesting: u32) -> bool {
    // Protection against abusive patterns, as in Redis.
    if nesting > 1000 {
        return false;
    }
    while let (Some(&pc), Some(&sc)) = (p.first(), s.first()) {
        match pc {
            b'*' => {
                while p.get(1) == Some(&b'*') {
                    p = &p[1..];
                }
                if p.len() == 1 {
                    return true;
                }
                while !s.is_empty() {
                    if match_impl(&p[1..], s, skip_longer, nesting + 1) {
                        return true;
                    }
                    if *skip_longer {
                        return false;
                    }
                    s = &s[1..];
                }
                // No match for the rest of the pattern anywhere in the rest of the string:
                // longer matches of earlier stars cannot help either.
                *skip_longer = true;
                return false;
            }
            b'?' => s = &s[1..],
            b'[' => {
                p = &p[1..];
                let negate = p.first() == Some(&b'^');
                if negate {
                    p = &p[1..];
                }
                let mut hit = false;
                loop {
                    match p {
                        [b'\\', escaped, ..] => {
                            p = &p[1..];
                            if *escaped == sc {
                                hit = true;
                            }
                        }
                        [b']', ..] => break,
                        [] => {
                            // An unclosed class: Redis steps back so that the end-of-pattern
                            // bookkeeping below sees its last byte.
                            break;
                        }
                        [start, b'-', end, ..] => {
                            let (lo, hi) = if start <= end {
                                (*start, *end)
                            } else {
                                (*end, *start)
                            };
                            p = &p[2..];
                            if (lo..=hi).contains(&sc) {
                                hit = true;
                            }
                        }
                        [c, ..] => {
                            if *c == sc {
                                hit = true;
                            }
                        }
                    }
                    p = &p[1..];
                }
                if negate {
                    hit = !hit;
                }
                if !hit {
                    return false;
                }
                s = &s[1..];
                if p.is_empty() {
                    // The unclosed class consumed the whole pattern.
                    return s.is_empty();
                }
            }
            b'\\' if p.len() >= 2 => {
                if p[1] != sc {
                    return false;
                }
                p = &p[1..];
                s = &s[1..];
            }
            _ => {
                if pc != sc {
                    return false;
                }
                s = &s[1..];
            }
        }
        p = &p[1..];
        if s.is_empty() {
            while p.first() == Some(&b'*') {
                p = &p[1..];
            }
            break;
        }
    }
    p.is_empty() && s.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_glob_cases() {
        let yes = |p: &str, s: &str| assert!(matches(p.as_bytes(), s.as_bytes()), "{p} ~ {s}");
        let no = |p: &str, s: &str| assert!(!matches(p.as_bytes(), s.as_bytes()), "{p} !~ {s}");
        // As in Redis, a pattern never matches the empty string (KEYS * special-cases it).
        no("*", "");
        yes("*", "anything");
        yes("trackist_*", "trackist_a_2024-1");
        no("trackist_*", "bitmapist_a");
        yes("h?llo", "hello");
        no("h?llo", "hllo");
        yes("h[ae]llo", "hallo");
        no("h[ae]llo", "hillo");
        yes("h[^e]llo", "hallo");
        no("h[^e]llo", "hello");
        yes("h[a-b]llo", "hbllo");
        yes("h[b-a]llo", "hbllo");
        yes("h\\*llo", "h*llo");
        no("h\\*llo", "hello");
        yes("a*b*c", "aXXbYYc");
        no("a*b*c", "aXXbYY");
        yes("**a", "a");
        no("", "a");
        yes("", "");
        yes("a*", "a");
        no("a?", "a");
        yes("[\\]]", "]");
    }

    #[test]
    fn abusive_patterns_terminate() {
        let p = "a*".repeat(50) + "b";
        let s = "a".repeat(60);
        assert!(!matches(p.as_bytes(), s.as_bytes()));
    }

    #[test]
    fn prefixes() {
        assert_eq!(literal_prefix(b"trackist_*"), b"trackist_");
        assert_eq!(literal_prefix(b"abc"), b"abc");
        assert_eq!(literal_prefix(b"[a]x"), b"");
    }
}
