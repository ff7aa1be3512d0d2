//! Phone numbers in free text: finding candidates, then normalizing them to E.164.
//!
//! Candidates are runs of digits with the separators people type (spaces, dashes, dots,
//! parentheses), optionally led by `+` or `00`. Each is parsed and validated against
//! libphonenumber's metadata (the `phonenumber` crate) with the installation's default
//! country for numbers written nationally (trunk `0` and all). Dates, order numbers
//! (`#123456789`), parts of words and digit runs that are too short or too long are
//! dropped before that, and anything libphonenumber does not call valid after.

use phonenumber::country::Id;
use phonenumber::{Mode, PhoneNumber};

/// Fewer digits than this is never a phone number worth capturing.
const MIN_DIGITS: usize = 7;
/// E.164 allows 15 digits; `00` and a trunk `0` may add up to two more in writing.
const MAX_DIGITS: usize = 17;

/// Parses an ISO 3166 alpha-2 country (any case), as a default for national numbers.
pub fn country(code: &str) -> Option<Id> {
    let code = code.trim().to_ascii_uppercase();
    if code.len() != 2 {
        return None;
    }
    code.parse().ok()
}

/// The distinct valid phone numbers in `text`, in E.164 (`+351912345678`), in order
/// of appearance.
pub fn find_numbers(text: &str, default_country: Id) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for candidate in candidates(text) {
        if let Some(e164) = normalize(&candidate, default_country)
            && !found.contains(&e164)
        {
            found.push(e164);
        }
    }
    found
}

/// Normalizes one written number to E.164, or `None` when it is not a valid number.
pub fn normalize(written: &str, default_country: Id) -> Option<String> {
    let digits = written.chars().filter(char::is_ascii_digit).count();
    if !(MIN_DIGITS..=MAX_DIGITS).contains(&digits) || looks_like_a_date(written) {
        return None;
    }
    let mut number = written.trim().to_owned();
    // `00` is the international prefix almost everywhere; libphonenumber only knows the
    // default country's own (`011` in the US), so spell it as `+`.
    if let Some(rest) = number.strip_prefix("00") {
        number = format!("+{rest}");
    }
    // `+44 (0)20 ...`: the trunk 0 some write after the country code.
    if number.starts_with('+') {
        number = number.replacen("(0)", "", 1);
    }
    let parsed: PhoneNumber = phonenumber::parse(Some(default_country), &number).ok()?;
    if !phonenumber::is_valid(&parsed) {
        return None;
    }
    Some(parsed.format().mode(Mode::E164).to_string())
}

/// The runs of text that may be phone numbers.
fn candidates(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let starts = c.is_ascii_digit()
            || ((c == '+' || c == '(') && chars.get(i + 1).is_some_and(char::is_ascii_digit));
        let previous = i.checked_sub(1).map(|p| chars[p]);
        // Part of a word, a reference (`#123`, `n°123`) or a longer token: not a number.
        let glued = previous.is_some_and(|p| p.is_alphanumeric() || matches!(p, '#' | '°' | '/'));
        if !starts || glued {
            i += 1;
            continue;
        }
        let start = i;
        let mut end = i + 1;
        while let Some(&c) = chars.get(end) {
            // A space continues the number only when more of it follows.
            let spaced = c == ' '
                && chars
                    .get(end + 1)
                    .is_some_and(|n| n.is_ascii_digit() || *n == '(');
            if !(c.is_ascii_digit() || matches!(c, '-' | '.' | '(' | ')') || spaced) {
                break;
            }
            end += 1;
        }
        // Trailing punctuation belongs to the sentence.
        while end > start && matches!(chars[end - 1], '-' | '.' | '(') {
            end -= 1;
        }
        let glued_after = chars
            .get(end)
            .is_some_and(|n| n.is_alphanumeric() || *n == '/');
        if !glued_after {
            out.push(chars[start..end].iter().collect());
        }
        i = end.max(start + 1);
    }
    out
}

/// `2024-01-15`, `15.01.2024`, `1.2.2024`: a date, whatever its digits might parse as.
fn looks_like_a_date(written: &str) -> bool {
    let groups: Vec<&str> = written
        .split(['-', '.'])
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .collect();
    if groups.len() != 3
        || groups
            .iter()
            .any(|g| !g.chars().all(|c| c.is_ascii_digit()))
    {
        return false;
    }
    let lens: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    let value = |g: &str| g.parse::<u32>().unwrap_or(u32::MAX);
    let day_month = |a: &str, b: &str| (1..=31).contains(&value(a)) && (1..=31).contains(&value(b));
    match lens.as_slice() {
        [4, 1..=2, 1..=2] => day_month(groups[1], groups[2]),
        [1..=2, 1..=2, 4] | [1..=2, 1..=2, 2] => day_month(groups[0], groups[1]),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(text: &str, country: &str) -> Vec<String> {
        find_numbers(text, super::country(country).unwrap())
    }

    #[test]
    fn countries_are_iso_alpha_2() {
        assert_eq!(country("pt"), Some(Id::PT));
        assert_eq!(country(" US "), Some(Id::US));
        for bad in ["", "P", "PRT", "XX", "12"] {
            assert_eq!(country(bad), None, "{bad}");
        }
    }

    #[test]
    fn national_numbers_take_the_default_country() {
        assert_eq!(
            find("ligue para 912 345 678 por favor", "PT"),
            ["+351912345678"]
        );
        assert_eq!(find("call (415) 555-2671 now", "US"), ["+14155552671"]);
        assert_eq!(find("call 415.555.2671.", "US"), ["+14155552671"]);
        assert_eq!(find("Tel: 030 12345678", "DE"), ["+493012345678"]);
    }

    #[test]
    fn trunk_zero_is_dropped() {
        assert_eq!(find("mon numéro: 06 12 34 56 78", "FR"), ["+33612345678"]);
        assert_eq!(find("ring 020 7946 0958", "GB"), ["+442079460958"]);
        assert_eq!(find("ring +44 (0)20 7946 0958", "US"), ["+442079460958"]);
    }

    #[test]
    fn international_prefixes_override_the_default() {
        assert_eq!(find("+33 6 12 34 56 78", "US"), ["+33612345678"]);
        assert_eq!(find("0033 6 12 34 56 78", "US"), ["+33612345678"]);
        assert_eq!(find("00351-912-345-678", "PT"), ["+351912345678"]);
        assert_eq!(find("011 44 20 7946 0958", "US"), ["+442079460958"]);
    }

    #[test]
    fn several_numbers_are_found_once_each_in_order() {
        assert_eq!(
            find(
                "home +351 212 345 678, mobile 912345678 (or +351912345678)",
                "PT"
            ),
            ["+351212345678", "+351912345678"]
        );
    }

    #[test]
    fn things_that_are_not_phone_numbers_are_rejected() {
        for text in [
            "see you on 2024-01-15",
            "born 15.01.1990",
            "order #912345678",
            "ref AB912345678",
            "invoice 912345678X",
            "code 1234",
            "id 12345678901234567890",
            "price 12.50",
            "call 123-456-7890",
            "no number here",
            "",
        ] {
            assert_eq!(find(text, "PT"), Vec::<String>::new(), "{text}");
            assert_eq!(find(text, "US"), Vec::<String>::new(), "{text}");
        }
    }
}
