use std::time::Instant;

use imap_codec::imap_types::extensions::sort::{SortCriterion, SortKey};

use super::*;
use crate::imap::sort::sort;

fn leaf(id: u32) -> ThreadNode {
    node(Some(id), Vec::new())
}

fn node(id: Option<u32>, children: Vec<ThreadNode>) -> ThreadNode {
    ThreadNode { id, children }
}

/// A header section: Message-ID (none when empty), References (none when empty), Subject
/// (none when None) and a Date on 21 Nov 2026 at `time`.
fn header(message_id: &str, references: &str, subject: Option<&str>, time: &str) -> String {
    let mut h = String::new();
    if !message_id.is_empty() {
        h.push_str(&format!("Message-ID: <{message_id}>\r\n"));
    }
    if !references.is_empty() {
        h.push_str(&format!("References: {references}\r\n"));
    }
    if let Some(subject) = subject {
        h.push_str(&format!("Subject: {subject}\r\n"));
    }
    h.push_str(&format!("Date: Sat, 21 Nov 2026 {time} +0000\r\n\r\n"));
    h
}

/// The THREAD response for headers numbered from 1.
fn threads(headers: &[String], kind: ThreadKind) -> String {
    let inputs: Vec<SortInput<'_>> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| SortInput {
            id: i as u32 + 1,
            header: h.as_bytes(),
            internal_date: 0,
            size: 0,
        })
        .collect();
    thread_response(&thread(&inputs, kind))
}

#[test]
fn response_syntax() {
    // RFC 5256 §4's example.
    let tree = vec![
        leaf(2),
        node(
            Some(3),
            vec![node(
                Some(6),
                vec![
                    node(Some(4), vec![leaf(23)]),
                    node(Some(44), vec![node(Some(7), vec![leaf(96)])]),
                ],
            )],
        ),
    ];
    assert_eq!(thread_response(&tree), "(2)(3 6 (4 23)(44 7 96))");
    assert_eq!(
        thread_response(&[node(None, vec![leaf(3), leaf(5)])]),
        "((3)(5))"
    );
    assert_eq!(
        thread_response(&[node(Some(1), vec![leaf(2), leaf(3)])]),
        "(1 (2)(3))"
    );
    assert_eq!(thread_response(&[]), "");
    // Shapes thread() does not make: a dummy with one child is its child, one without any
    // is left out, one among siblings is a nested list.
    assert_eq!(
        thread_response(&[node(None, vec![node(Some(1), vec![leaf(2)])])]),
        "(1 2)"
    );
    assert_eq!(
        thread_response(&[
            node(None, vec![]),
            leaf(1),
            node(Some(2), vec![node(None, vec![]), leaf(3)])
        ]),
        "(1)(2 3)"
    );
    assert_eq!(
        thread_response(&[node(
            Some(1),
            vec![node(None, vec![leaf(2), leaf(3)]), leaf(4)]
        )]),
        "(1 ((2)(3))(4))"
    );
}

#[test]
fn ordered_subject() {
    let headers = [
        header("", "", Some("hello"), "10:00:00"),
        header("", "", Some("other"), "09:00:00"),
        header("", "", Some("Re: hello"), "11:00:00"),
        header("", "", Some("Re: other"), "12:00:00"),
        header("", "", Some("[list] HELLO"), "08:00:00"),
        header("", "", Some("single"), "10:00:00"),
        header("", "", None, "07:00:00"),
        header("", "", Some(""), "13:00:00"),
        // The same time as 3: sequence order.
        header("", "", Some("Fwd: hello"), "11:00:00"),
    ];
    assert_eq!(
        threads(&headers, ThreadKind::OrderedSubject),
        "(7 8)(5 (1)(3)(9))(2 4)(6)"
    );
    assert_eq!(threads(&[], ThreadKind::OrderedSubject), "");
}

#[test]
fn references_links_replies() {
    let headers = [
        header("a@x", "", Some("topic"), "10:00:00"),
        header("b@x", "<a@x>", Some("Re: topic"), "11:00:00"),
        header("c@x", "<a@x> <b@x>", Some("Re: topic"), "12:00:00"),
        // In-Reply-To when there is no References.
        "Message-ID: <d@x>\r\nIn-Reply-To: <a@x> (Alice's message)\r\nSubject: Re: topic\r\n\
         Date: 21 Nov 2026 10:30:00 +0000\r\n\r\n"
            .to_string(),
        // A reply without references: grouped by its subject under the original.
        header("e@x", "", Some("Re: topic"), "13:00:00"),
        header("f@x", "", Some("unrelated"), "09:00:00"),
    ];
    assert_eq!(
        threads(&headers, ThreadKind::References),
        "(6)(1 (4)(2 3)(5))"
    );
    assert_eq!(threads(&[], ThreadKind::References), "");
}

#[test]
fn references_missing_parents() {
    let headers = [
        // Two replies to a message not in the set: a dummy parent.
        header("x1@x", "<missing@x>", Some("alpha"), "10:00:00"),
        header("x2@x", "<missing@x>", Some("beta"), "09:00:00"),
        // A chain of missing messages above one: pruned away.
        header("x3@x", "<gone1@x> <gone2@x>", Some("gamma"), "08:00:00"),
    ];
    assert_eq!(threads(&headers, ThreadKind::References), "(3)((2)(1))");
    let inputs: Vec<SortInput<'_>> = headers
        .iter()
        .map(|h| SortInput {
            id: 7,
            header: h.as_bytes(),
            internal_date: 0,
            size: 0,
        })
        .collect();
    let tree = thread(&inputs, ThreadKind::References);
    assert_eq!(tree[1], node(None, vec![leaf(7), leaf(7)]));
}

#[test]
fn references_loops_are_broken() {
    let headers = [
        // Each references the other.
        header("a@x", "<b@x>", Some("one"), "10:00:00"),
        header("b@x", "<a@x>", Some("two"), "11:00:00"),
        // Itself.
        header("c@x", "<c@x>", Some("three"), "12:00:00"),
        // A loop inside its own References.
        header("d@x", "<e@x> <d@x> <e@x>", Some("four"), "13:00:00"),
        // A loop of three.
        header("f@x", "<g@x>", Some("five"), "14:00:00"),
        header("g@x", "<h@x>", Some("six"), "15:00:00"),
        header("h@x", "<f@x>", Some("seven"), "16:00:00"),
        // Garbage.
        header("<<>>", "<> < > <<i@x> j@x>", Some("eight"), "17:00:00"),
    ];
    assert_eq!(
        threads(&headers, ThreadKind::References),
        "(2 1)(3)(4)(7 6 5)(8)"
    );
}

#[test]
fn references_duplicate_message_ids() {
    let headers = [
        header("dup@x", "", Some("first"), "10:00:00"),
        // The same Message-ID again: a message of its own.
        header("dup@x", "", Some("second"), "11:00:00"),
        header("r@x", "<dup@x>", Some("Re: first"), "12:00:00"),
        // No Message-ID at all.
        header("", "<dup@x>", Some("Re: first"), "13:00:00"),
        header("", "", Some("lonely"), "09:00:00"),
    ];
    assert_eq!(
        threads(&headers, ThreadKind::References),
        "(5)(1 (3)(4))(2)"
    );
}

#[test]
fn references_groups_by_subject() {
    let headers = [
        header("a@x", "", Some("hello"), "10:00:00"),
        header("b@x", "", Some("Re: hello"), "11:00:00"),
        header("c@x", "", Some("hello"), "12:00:00"),
        // Its parent is missing (the dummy goes), and it is a reply.
        header("d@x", "<zzz@x>", Some("Re: hello"), "09:00:00"),
        // Two replies to a missing message stay under their dummy, which takes "world".
        header("e@x", "<m@x>", Some("Re: world"), "08:00:00"),
        header("f@x", "<m@x>", Some("Re: world"), "08:30:00"),
        header("g@x", "", Some("World"), "07:00:00"),
        // Empty subjects are not grouped.
        header("h@x", "", Some(""), "06:00:00"),
        header("i@x", "", None, "06:30:00"),
        // A reply first: the later original becomes the parent.
        header("j@x", "", Some("Re: late"), "05:00:00"),
        header("k@x", "", Some("late"), "05:30:00"),
    ];
    assert_eq!(
        threads(&headers, ThreadKind::References),
        "(11 10)(8)(9)((7)(5)(6))((1 (4)(2))(3))"
    );
}

/// `count` synthetic messages: every id exactly once in both THREAD responses, SORT a
/// permutation in date order.
fn check_large(headers: &[String]) {
    let count = headers.len() as u32;
    let inputs: Vec<SortInput<'_>> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| SortInput {
            id: i as u32 + 1,
            header: h.as_bytes(),
            internal_date: i as i64,
            size: (i % 97) as i64,
        })
        .collect();
    for kind in [ThreadKind::OrderedSubject, ThreadKind::References] {
        let start = Instant::now();
        let tree = thread(&inputs, kind);
        let response = thread_response(&tree);
        eprintln!("{kind:?} of {count}: {:?}", start.elapsed());
        let mut ids: Vec<u32> = response
            .split(|c: char| !c.is_ascii_digit())
            .filter(|w| !w.is_empty())
            .map(|w| w.parse().unwrap())
            .collect();
        ids.sort_unstable();
        assert_eq!(ids, (1..=count).collect::<Vec<_>>(), "{kind:?}");
        let mut depth = 0i64;
        for c in response.chars() {
            depth += match c {
                '(' => 1,
                ')' => -1,
                _ => 0,
            };
            assert!(depth >= 0);
        }
        assert_eq!(depth, 0);
        assert!(!response.contains("()"));
    }
    let criteria = [
        SortCriterion {
            reverse: false,
            key: SortKey::Subject,
        },
        SortCriterion {
            reverse: true,
            key: SortKey::Date,
        },
        SortCriterion {
            reverse: false,
            key: SortKey::DisplayFrom,
        },
    ];
    let start = Instant::now();
    let mut sorted = sort(&inputs, &criteria);
    eprintln!("SORT of {count}: {:?}", start.elapsed());
    sorted.sort_unstable();
    assert_eq!(sorted, (1..=count).collect::<Vec<_>>());
}

fn time(n: u32) -> String {
    format!("{:02}:{:02}:{:02}", n / 3600 % 24, n / 60 % 60, n % 60)
}

#[test]
fn ten_thousand_in_one_chain() {
    // Each a reply to the one before, References truncated to the last three.
    let headers: Vec<String> = (1..=10_000u32)
        .map(|i| {
            let refs: Vec<String> = (i.saturating_sub(3).max(1)..i)
                .map(|r| format!("<{r}@chain>"))
                .collect();
            let subject = if i == 1 { "long" } else { "Re: long" };
            header(
                &format!("{i}@chain"),
                &refs.join(" "),
                Some(subject),
                &time(i),
            )
        })
        .collect();
    check_large(&headers);
    let inputs: Vec<SortInput<'_>> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| SortInput {
            id: i as u32 + 1,
            header: h.as_bytes(),
            internal_date: 0,
            size: 0,
        })
        .collect();
    let chain: Vec<String> = (1..=10_000).map(|i| i.to_string()).collect();
    let expected = format!("({})", chain.join(" "));
    assert_eq!(
        thread_response(&thread(&inputs, ThreadKind::References)),
        expected
    );
}

#[test]
fn ten_thousand_mixed() {
    // A deterministic jumble: parents anywhere (before or after), missing ids, duplicates,
    // loops, a few subjects, dates out of order, some without a Date.
    let mut state = 0x2545_f491_u64;
    let mut next = move |n: u64| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        (state >> 33) % n
    };
    let headers: Vec<String> = (1..=10_000u32)
        .map(|i| {
            let id = match i % 50 {
                0 => String::new(),
                7 => format!("{}@mix", i - 1),
                _ => format!("{i}@mix"),
            };
            let refs: Vec<String> = (0..next(5))
                .map(|_| format!("<{}@mix>", next(10_500) + 1))
                .collect();
            let subject = format!(
                "{}subject {}",
                ["", "Re: ", "Fwd: "][next(3) as usize],
                next(40)
            );
            let mut h = header(
                &id,
                &refs.join(" "),
                Some(&subject),
                &time(next(86_400) as u32),
            );
            if i % 13 == 0 {
                h = h.replace("Date:", "X-Date:");
            }
            h.insert_str(
                0,
                &format!("From: User {} <u{}@mix>\r\n", next(100), next(100)),
            );
            h
        })
        .collect();
    check_large(&headers);
}
