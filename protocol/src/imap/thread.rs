//! THREAD (RFC 5256 §3 and §4): ORDEREDSUBJECT and REFERENCES over the cached header
//! sections, and the THREAD response syntax.
//!
//! Nothing here recurses: trees are walked with explicit stacks (and dropped by one), so a
//! chain of 10,000 replies or a References loop costs no stack.

use std::collections::HashMap;

use super::base_subject;
use super::sort::{Fields, SortInput, sent_date};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ThreadKind {
    OrderedSubject,
    References,
}

/// One thread tree node: a message id (None for a dummy parent that is not in the set,
/// RFC 5256 REFERENCES) and its children.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct ThreadNode {
    pub id: Option<u32>,
    pub children: Vec<ThreadNode>,
}

impl Drop for ThreadNode {
    /// Iterative, so that dropping a deep chain does not recurse once per level.
    fn drop(&mut self) {
        let mut stack = std::mem::take(&mut self.children);
        while let Some(mut node) = stack.pop() {
            stack.append(&mut node.children);
        }
    }
}

/// What threading reads of one message.
struct Info {
    /// RFC 5256 §2.2 sent date.
    date: i64,
    subject: base_subject::BaseSubject,
    message_id: Option<Vec<u8>>,
    /// The parent chain: References, or else the first message id of In-Reply-To.
    references: Vec<Vec<u8>>,
}

fn info(message: &SortInput<'_>, kind: ThreadKind) -> Info {
    let fields = Fields::read(message.header);
    let mut info = Info {
        date: sent_date(fields.date.as_deref(), message.internal_date),
        subject: base_subject::extract(fields.subject.as_deref().unwrap_or_default()),
        message_id: None,
        references: Vec::new(),
    };
    if kind == ThreadKind::References {
        info.message_id = fields
            .message_id
            .as_deref()
            .and_then(|v| message_ids(v).next());
        info.references = fields
            .references
            .as_deref()
            .map(|v| message_ids(v).collect())
            .unwrap_or_default();
        if info.references.is_empty()
            && let Some(id) = fields
                .in_reply_to
                .as_deref()
                .and_then(|v| message_ids(v).next())
        {
            info.references.push(id);
        }
    }
    info
}

/// The message ids (`<...>`) of a Message-ID, References or In-Reply-To value, without their
/// brackets and whitespace; an empty one is not valid. Text outside the brackets (comments,
/// phrases of old In-Reply-To forms) is skipped; of `<a <b>` the id is `b`.
fn message_ids(value: &[u8]) -> impl Iterator<Item = Vec<u8>> + '_ {
    let mut rest = value;
    std::iter::from_fn(move || {
        loop {
            let open = rest.iter().position(|&b| b == b'<')?;
            let len = rest[open + 1..].iter().position(|&b| b == b'>')?;
            let mut id = &rest[open + 1..open + 1 + len];
            rest = &rest[open + 2 + len..];
            if let Some(inner) = id.iter().rposition(|&b| b == b'<') {
                id = &id[inner + 1..];
            }
            let id: Vec<u8> = id
                .iter()
                .copied()
                .filter(|b| !b.is_ascii_whitespace())
                .collect();
            if !id.is_empty() {
                return Some(id);
            }
        }
    })
}

pub(super) fn thread(messages: &[SortInput<'_>], kind: ThreadKind) -> Vec<ThreadNode> {
    let infos: Vec<Info> = messages.iter().map(|m| info(m, kind)).collect();
    let id = |i: usize| Some(messages[i].id);
    match kind {
        ThreadKind::OrderedSubject => ordered_subject(&infos, id),
        ThreadKind::References => references(&infos, id),
    }
}

/// RFC 5256 §3 ORDEREDSUBJECT: messages grouped by base subject (an empty one is a subject
/// like any other), each group in sent date order; its first message is the parent of all
/// the others, and the threads are in the order of the sent dates of their first messages.
fn ordered_subject(infos: &[Info], id: impl Fn(usize) -> Option<u32>) -> Vec<ThreadNode> {
    let mut order: Vec<usize> = (0..infos.len()).collect();
    order.sort_by(|&a, &b| {
        (&infos[a].subject.text, infos[a].date, a).cmp(&(&infos[b].subject.text, infos[b].date, b))
    });
    let mut threads: Vec<(usize, Vec<usize>)> = Vec::new();
    for i in order {
        match threads.last_mut() {
            Some((first, rest)) if infos[*first].subject.text == infos[i].subject.text => {
                rest.push(i)
            }
            _ => threads.push((i, Vec::new())),
        }
    }
    threads.sort_by_key(|&(first, _)| (infos[first].date, first));
    threads
        .into_iter()
        .map(|(first, rest)| ThreadNode {
            id: id(first),
            children: rest
                .into_iter()
                .map(|i| ThreadNode {
                    id: id(i),
                    children: Vec::new(),
                })
                .collect(),
        })
        .collect()
}

/// A message or a dummy in the REFERENCES id table.
struct Container {
    /// Index into the messages; None for a dummy.
    message: Option<usize>,
    parent: Option<usize>,
    /// Number of children (step 1 keeps only parent links).
    children: usize,
}

fn new_container(containers: &mut Vec<Container>, message: Option<usize>) -> usize {
    containers.push(Container {
        message,
        parent: None,
        children: 0,
    });
    containers.len() - 1
}

/// True when making `parent` the parent of `child` would make a loop: `parent` is `child`
/// or one of its descendants.
fn would_loop(containers: &[Container], parent: usize, child: usize) -> bool {
    if parent == child {
        return true;
    }
    if containers[child].children == 0 {
        return false;
    }
    let mut at = parent;
    // Bounded even if the links were wrong: there are no more ancestors than containers.
    for _ in 0..containers.len() {
        match containers[at].parent {
            Some(p) if p == child => return true,
            Some(p) => at = p,
            None => return false,
        }
    }
    true
}

fn link(containers: &mut [Container], parent: usize, child: usize) {
    containers[child].parent = Some(parent);
    containers[parent].children += 1;
}

fn unlink(containers: &mut [Container], child: usize) {
    if let Some(parent) = containers[child].parent.take() {
        containers[parent].children -= 1;
    }
}

/// Every node under `root`, each before its children.
fn preorder(children: &[Vec<usize>], root: usize) -> Vec<usize> {
    let mut order = Vec::with_capacity(children.len());
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        order.push(node);
        stack.extend_from_slice(&children[node]);
    }
    order
}

/// RFC 5256 §4 REFERENCES.
fn references(infos: &[Info], id: impl Fn(usize) -> Option<u32>) -> Vec<ThreadNode> {
    let mut containers: Vec<Container> = Vec::with_capacity(infos.len() * 2);
    let mut table: HashMap<&[u8], usize> = HashMap::with_capacity(infos.len() * 2);
    // Step 1: the id table and the parent links, message by message in sequence order.
    for (i, info) in infos.iter().enumerate() {
        // A message without a (valid) Message-ID, or with one that an earlier message has,
        // gets a unique one: a container that is in no table entry.
        let own = match info.message_id.as_deref() {
            Some(message_id) => match table.get(message_id) {
                Some(&c) if containers[c].message.is_none() => {
                    containers[c].message = Some(i);
                    c
                }
                Some(_) => new_container(&mut containers, Some(i)),
                None => {
                    let c = new_container(&mut containers, Some(i));
                    table.insert(message_id, c);
                    c
                }
            },
            None => new_container(&mut containers, Some(i)),
        };
        // 1.A: each reference the parent of the next (dummies for unknown ids), unless the
        // next has a parent already or the link would make a loop.
        let mut previous = None;
        for reference in &info.references {
            let c = *table
                .entry(reference.as_slice())
                .or_insert_with(|| new_container(&mut containers, None));
            if let Some(p) = previous
                && containers[c].parent.is_none()
                && !would_loop(&containers, p, c)
            {
                link(&mut containers, p, c);
            }
            previous = Some(c);
        }
        // 1.B: the last reference is the parent of this message, replacing any parent it had
        // (from a truncated References line), unless that would make a loop.
        if let Some(p) = previous {
            unlink(&mut containers, own);
            if !would_loop(&containers, p, own) {
                link(&mut containers, p, own);
            }
        }
    }
    // Step 2: the containers without a parent are the children of the root.
    let root = new_container(&mut containers, None);
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); containers.len()];
    for (c, container) in containers.iter().enumerate().take(root) {
        children[container.parent.unwrap_or(root)].push(c);
    }
    // Step 3: prune dummies, children before parents. A dummy without children goes, one with
    // children gives them to its parent, except at the root where it stays if it has more
    // than one. A dummy's children are then never dummies.
    let is_dummy = |containers: &[Container], c: usize| containers[c].message.is_none();
    for &node in preorder(&children, root).iter().rev() {
        let old = std::mem::take(&mut children[node]);
        let mut kept = Vec::with_capacity(old.len());
        for c in old {
            if !is_dummy(&containers, c) || (node == root && children[c].len() > 1) {
                kept.push(c);
            } else {
                kept.append(&mut children[c]);
            }
        }
        children[node] = kept;
    }
    // The sent date of a message, or of the first child of a dummy; ties in sequence order.
    let key = |containers: &[Container], children: &[Vec<usize>], mut c: usize| {
        for _ in 0..containers.len() {
            match containers[c].message {
                Some(m) => return (infos[m].date, m),
                None => match children[c].first() {
                    Some(&first) => c = first,
                    None => break,
                },
            }
        }
        (i64::MAX, usize::MAX)
    };
    // Step 4: sort the root's children (a dummy's children first, by which it sorts).
    for i in 0..children[root].len() {
        let c = children[root][i];
        if is_dummy(&containers, c) {
            let mut list = std::mem::take(&mut children[c]);
            list.sort_by_key(|&k| key(&containers, &children, k));
            children[c] = list;
        }
    }
    let mut roots = std::mem::take(&mut children[root]);
    roots.sort_by_key(|&c| key(&containers, &children, c));
    // Step 5: merge the threads whose roots have the same (non-empty) base subject.
    let subject = |containers: &[Container], children: &[Vec<usize>], c: usize| {
        let m = match containers[c].message {
            Some(m) => Some(m),
            None => children[c].first().and_then(|&k| containers[k].message),
        }?;
        let text = infos[m].subject.text.as_str();
        (!text.is_empty()).then_some(text)
    };
    let reply = |containers: &[Container], c: usize| {
        containers[c]
            .message
            .is_some_and(|m| infos[m].subject.reply)
    };
    // 5.A to 5.D: the subject table keeps a dummy if there is one, else the first non-reply,
    // else the first reply, in the order of step 4.
    let mut subjects: HashMap<&str, usize> = HashMap::new();
    for &c in &roots {
        let Some(text) = subject(&containers, &children, c) else {
            continue;
        };
        let entry = subjects.entry(text).or_insert(c);
        let held = *entry;
        if !is_dummy(&containers, held)
            && (is_dummy(&containers, c) || (reply(&containers, held) && !reply(&containers, c)))
        {
            *entry = c;
        }
    }
    // 5.E: merge each root with the one in the table.
    let mut at_root = vec![false; containers.len()];
    for &c in &roots {
        at_root[c] = true;
    }
    let mut added = Vec::new();
    for &c in &roots {
        if !at_root[c] {
            continue;
        }
        let Some(text) = subject(&containers, &children, c) else {
            continue;
        };
        let held = subjects[text];
        if held == c {
            continue;
        }
        if is_dummy(&containers, held) && is_dummy(&containers, c) {
            let mut moved = std::mem::take(&mut children[c]);
            children[held].append(&mut moved);
            at_root[c] = false;
        } else if is_dummy(&containers, held)
            || (reply(&containers, c) && !reply(&containers, held))
        {
            children[held].push(c);
            at_root[c] = false;
        } else {
            let dummy = new_container(&mut containers, None);
            children.push(vec![held, c]);
            at_root.push(true);
            at_root[held] = false;
            at_root[c] = false;
            added.push(dummy);
            subjects.insert(text, dummy);
        }
    }
    children[root] = roots
        .into_iter()
        .chain(added)
        .filter(|&c| at_root[c])
        .collect();
    // Step 6: sort every set of siblings, children before parents, and build the tree.
    let order = preorder(&children, root);
    let mut built: Vec<Option<ThreadNode>> = (0..containers.len()).map(|_| None).collect();
    for &node in order.iter().rev() {
        let mut list = std::mem::take(&mut children[node]);
        list.sort_by_key(|&k| key(&containers, &children, k));
        built[node] = Some(ThreadNode {
            id: containers[node].message.and_then(&id),
            children: list.iter().filter_map(|&k| built[k].take()).collect(),
        });
        children[node] = list;
    }
    built[root]
        .take()
        .map(|mut root| std::mem::take(&mut root.children))
        .unwrap_or_default()
}

/// The THREAD response data after `* THREAD ` (RFC 5256 §4): `(2)(3 6 (4 23)(44 7 96))`. A
/// chain of only children is written flat, siblings each in parentheses, a dummy (`id` None)
/// by its children alone: `((3)(5))`. Dummies without children are left out.
pub(super) fn thread_response(threads: &[ThreadNode]) -> String {
    enum Step<'a> {
        Open,
        Close,
        /// A thread-list's content from this node on.
        Members(&'a ThreadNode),
    }
    let present = |node: &&ThreadNode| node.id.is_some() || !node.children.is_empty();
    let mut out = String::new();
    let mut stack = Vec::new();
    for thread in threads.iter().filter(present).rev() {
        stack.extend([Step::Close, Step::Members(thread), Step::Open]);
    }
    while let Some(step) = stack.pop() {
        match step {
            Step::Open => out.push('('),
            Step::Close => out.push(')'),
            Step::Members(mut node) => {
                let mut written = false;
                loop {
                    if let Some(id) = node.id {
                        if written {
                            out.push(' ');
                        }
                        out.push_str(&id.to_string());
                        written = true;
                    }
                    let mut children = node.children.iter().filter(present);
                    match (children.next(), children.next()) {
                        (None, _) => break,
                        (Some(only), None) => node = only,
                        (Some(_), Some(_)) => {
                            if written {
                                out.push(' ');
                            }
                            for child in node.children.iter().filter(present).rev() {
                                stack.extend([Step::Close, Step::Members(child), Step::Open]);
                            }
                            break;
                        }
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
