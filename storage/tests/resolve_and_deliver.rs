//! Recipient resolution and delivery against a real (SQLite) index and a filesystem blob
//! store.

use std::sync::Arc;

use baedal_storage::directory::Resolution;
use baedal_storage::{
    AliasSource, Database, DeliveryTarget, Directory, DomainName, DomainUpdate, EmailAddress,
    FsBlobStore, MailStore, NewDomain, NewUser, Spool, UserUpdate,
};

struct Fixture {
    _dir: tempfile::TempDir,
    directory: Directory,
    store: MailStore,
    spool: Spool,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::connect(&format!("sqlite://{}/t.db", dir.path().display()), 4)
        .await
        .unwrap();
    db.migrate().await.unwrap();
    let directory = Directory::new(db.clone());
    let store = MailStore::new(db, Arc::new(FsBlobStore::new(dir.path().join("mail"))));
    let spool = Spool::new(dir.path().join("spool"), "mx.example.org").unwrap();
    for (domain, active) in [("example.org", true), ("closed.org", false)] {
        let name = DomainName::parse(domain).unwrap();
        directory
            .add_domain(NewDomain {
                name: name.clone(),
                auth_type: baedal_storage::AuthType::Local,
                ldap_base_dn: None,
                transport: None,
                company_id: None,
            })
            .await
            .unwrap();
        if !active {
            let update = DomainUpdate {
                is_active: Some(false),
                ..Default::default()
            };
            directory.update_domain(&name, update).await.unwrap();
        }
    }
    for user in [
        "alice@example.org",
        "bob@example.org",
        "dave@example.org",
        "carl@closed.org",
    ] {
        directory
            .add_user(NewUser {
                address: EmailAddress::parse(user).unwrap(),
                password_hash: None,
                quota: None,
                display_name: None,
                department: None,
            })
            .await
            .unwrap();
    }
    let disable = UserUpdate {
        is_active: Some(false),
        ..Default::default()
    };
    directory
        .update_user(&EmailAddress::parse("dave@example.org").unwrap(), disable)
        .await
        .unwrap();
    let alias = |src: &str, dests: &[&str]| {
        let directory = directory.clone();
        let src = AliasSource::parse(src).unwrap();
        let dests: Vec<_> = dests
            .iter()
            .map(|d| EmailAddress::parse(d).unwrap())
            .collect();
        async move { directory.add_alias(&src, &dests).await.unwrap() }
    };
    alias(
        "team@example.org",
        &["alice@example.org", "bob@example.org"],
    )
    .await;
    alias(
        "all@example.org",
        &["team@example.org", "alice@example.org"],
    )
    .await;
    alias("loop1@example.org", &["loop2@example.org"]).await;
    alias("loop2@example.org", &["loop1@example.org"]).await;
    alias(
        "fwd@example.org",
        &["alice@example.org", "someone@elsewhere.net"],
    )
    .await;
    alias("gone@example.org", &["dave@example.org"]).await;
    Fixture {
        _dir: dir,
        directory,
        store,
        spool,
    }
}

fn emails(r: &Resolution) -> Vec<&str> {
    match r {
        Resolution::Local(users) => users.iter().map(|u| u.email.as_str()).collect(),
        other => panic!("not local: {other:?}"),
    }
}

#[tokio::test]
async fn resolves_users_aliases_plus_tags_and_catch_all() {
    let f = fixture().await;
    let r = |a: &'static str| {
        let d = f.directory.clone();
        async move { d.resolve_recipient(a).await.unwrap() }
    };
    assert_eq!(emails(&r("alice@example.org").await), ["alice@example.org"]);
    assert_eq!(emails(&r("Alice@EXAMPLE.org").await), ["alice@example.org"]);
    assert_eq!(
        emails(&r("alice+news@example.org").await),
        ["alice@example.org"]
    );
    assert_eq!(
        emails(&r("team@example.org").await),
        ["alice@example.org", "bob@example.org"]
    );
    // Nested, with a duplicate destination: each user once.
    assert_eq!(
        emails(&r("all@example.org").await),
        ["alice@example.org", "bob@example.org"]
    );
    assert_eq!(r("nobody@example.org").await, Resolution::UnknownUser);
    assert_eq!(r("dave@example.org").await, Resolution::UserDisabled);
    assert_eq!(r("gone@example.org").await, Resolution::UserDisabled);
    assert_eq!(r("carl@closed.org").await, Resolution::DomainDisabled);
    assert_eq!(r("x@elsewhere.net").await, Resolution::NotLocal);
    assert_eq!(r("loop1@example.org").await, Resolution::Loop);
    assert!(
        matches!(r("fwd@example.org").await, Resolution::Forward { ref remote, .. } if remote == &["someone@elsewhere.net"])
    );

    // A catch-all takes what no user or alias has, and never hides a user.
    let catch_all = AliasSource::parse("@example.org").unwrap();
    f.directory
        .add_alias(
            &catch_all,
            &[EmailAddress::parse("bob@example.org").unwrap()],
        )
        .await
        .unwrap();
    assert_eq!(emails(&r("nobody@example.org").await), ["bob@example.org"]);
    assert_eq!(emails(&r("δοκιμή@example.org").await), ["bob@example.org"]);
    assert_eq!(emails(&r("alice@example.org").await), ["alice@example.org"]);
}

#[tokio::test]
async fn delivers_one_blob_to_several_mailboxes_with_ascending_uids() {
    let f = fixture().await;
    let users = match f
        .directory
        .resolve_recipient("team@example.org")
        .await
        .unwrap()
    {
        Resolution::Local(users) => users,
        other => panic!("{other:?}"),
    };
    let targets: Vec<DeliveryTarget> = users
        .iter()
        .map(|u| DeliveryTarget {
            user_id: u.id,
            maildir: u.maildir.clone(),
            mailbox: "INBOX".into(),
        })
        .collect();
    let mut keys = Vec::new();
    for n in 0..3 {
        let mut file = f.spool.create().await.unwrap();
        file.write(format!("Subject: m{n}\r\n\r\nbody {n}\r\n").as_bytes())
            .await
            .unwrap();
        let delivered = f
            .store
            .deliver(file.finish().await.unwrap(), &targets, 1_700_000_000)
            .await
            .unwrap();
        assert_eq!(delivered.copies.len(), 2);
        assert!(
            delivered
                .blob_key
                .starts_with("example.org/alice/Maildir/cur/"),
            "{}",
            delivered.blob_key
        );
        assert!(
            delivered.blob_key.ends_with(",S=23"),
            "{}",
            delivered.blob_key
        );
        keys.push(delivered.blob_key);
    }
    for user in &users {
        let boxes = f.store.mailboxes(user.id).await.unwrap();
        let names: Vec<&str> = boxes.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(
            names,
            ["Archive", "Drafts", "INBOX", "Junk", "Sent", "Trash"]
        );
        let inbox = boxes.iter().find(|b| b.name == "INBOX").unwrap();
        assert_eq!(inbox.uidnext, 4);
        let messages = f.store.messages(inbox.id).await.unwrap();
        let uids: Vec<i64> = messages.iter().map(|m| m.uid).collect();
        assert_eq!(uids, [1, 2, 3]);
        let blob_keys: Vec<&str> = messages.iter().map(|m| m.blob_key.as_str()).collect();
        assert_eq!(
            blob_keys,
            keys.iter().map(String::as_str).collect::<Vec<_>>()
        );
        let user = f
            .directory
            .require_user(&EmailAddress::parse(&user.email).unwrap())
            .await
            .unwrap();
        assert_eq!(user.used_quota, 3 * 23);
    }
    let (header, structure) = f.store.cached_header(&keys[0]).await.unwrap().unwrap();
    assert_eq!(header, b"Subject: m0\r\n\r\n");
    assert!(structure.unwrap().contains("text/plain"));
}

#[tokio::test]
async fn shared_views_follow_deliveries_flag_changes_and_expunges() {
    let f = fixture().await;
    let alice = f
        .directory
        .require_user(&EmailAddress::parse("alice@example.org").unwrap())
        .await
        .unwrap();
    let target = DeliveryTarget {
        user_id: alice.id,
        maildir: alice.maildir_path.clone(),
        mailbox: "INBOX".into(),
    };
    let deliver = |n: usize| {
        let (spool, store, target) = (&f.spool, &f.store, target.clone());
        async move {
            let mut file = spool.create().await.unwrap();
            file.write(format!("Subject: m{n}\r\n\r\nbody {n}\r\n").as_bytes())
                .await
                .unwrap();
            store
                .deliver(file.finish().await.unwrap(), &[target], 1_700_000_000)
                .await
                .unwrap()
        }
    };
    for n in 0..5 {
        deliver(n).await;
    }
    let inbox = f.store.mailbox(alice.id, "INBOX").await.unwrap().unwrap();
    let first = f.store.view(inbox.id).await.unwrap();
    assert_eq!(first.messages.len(), 5);
    // Nothing changed: every caller gets the very same view.
    let again = f.store.view(inbox.id).await.unwrap();
    assert!(Arc::ptr_eq(&first, &again));

    // A flag change, an expunge and a delivery, then the view is rebuilt from the changes
    // and must equal a full read of the index.
    f.store
        .store_flags(
            inbox.id,
            &[2],
            baedal_storage::mailstore::FlagChange::Add,
            &["\\Seen".to_string()],
            None,
        )
        .await
        .unwrap();
    let before_expunge = f.store.view(inbox.id).await.unwrap().highest_modseq;
    assert_eq!(f.store.expunge(inbox.id, &[4]).await.unwrap(), [4]);
    deliver(5).await;
    // QRESYNC: the expunge is remembered with its modseq.
    let store = &f.store;
    assert_eq!(
        store
            .vanished_since(inbox.id, before_expunge)
            .await
            .unwrap(),
        Some(vec![4])
    );
    let after = store.view(inbox.id).await.unwrap().highest_modseq;
    assert_eq!(
        store.vanished_since(inbox.id, after).await.unwrap(),
        Some(vec![])
    );
    // UNCHANGEDSINCE older than message 2's change: nothing is stored, 2 is MODIFIED.
    let refused = store
        .store_flags(
            inbox.id,
            &[2, 3],
            baedal_storage::mailstore::FlagChange::Add,
            &["\\Flagged".to_string()],
            Some(before_expunge - 1),
        )
        .await
        .unwrap();
    let modified: Vec<i64> = refused
        .iter()
        .filter(|u| u.modified)
        .map(|u| u.uid)
        .collect();
    assert_eq!(modified, [2]);
    assert!(
        refused
            .iter()
            .any(|u| u.uid == 3 && u.changed && u.flags == "\\Flagged")
    );
    store
        .store_flags(
            inbox.id,
            &[3],
            baedal_storage::mailstore::FlagChange::Remove,
            &["\\Flagged".to_string()],
            None,
        )
        .await
        .unwrap();
    let updated = f.store.view(inbox.id).await.unwrap();
    assert!(!Arc::ptr_eq(&first, &updated));
    assert_eq!(updated.messages, f.store.messages(inbox.id).await.unwrap());
    let uids: Vec<i64> = updated.messages.iter().map(|m| m.uid).collect();
    assert_eq!(uids, [1, 2, 3, 5, 6]);
    assert_eq!(updated.messages[1].flags, "\\Seen");
    // The earlier view is untouched: a session holding it still sees what it told its client.
    assert_eq!(first.messages.len(), 5);

    // An expunge balanced by a delivery leaves the count unchanged; the view must still
    // drop the expunged UID.
    f.store.expunge(inbox.id, &[1]).await.unwrap();
    deliver(6).await;
    let balanced = f.store.view(inbox.id).await.unwrap();
    assert_eq!(balanced.messages, f.store.messages(inbox.id).await.unwrap());
    // Pruned tombstones: a resync from before them cannot be answered exactly any more,
    // one from after them still can.
    assert_eq!(f.store.prune_vanished(i64::MAX).await.unwrap(), 2);
    assert_eq!(
        f.store
            .vanished_since(inbox.id, before_expunge)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        f.store
            .vanished_since(inbox.id, balanced.highest_modseq)
            .await
            .unwrap(),
        Some(vec![])
    );

    // Headers in bulk: every listed message, keyed by its blob.
    let keys: Vec<&str> = balanced
        .messages
        .iter()
        .map(|m| m.blob_key.as_str())
        .collect();
    let headers = f.store.cached_headers(&keys).await.unwrap();
    assert_eq!(headers.len(), keys.len());
    assert_eq!(headers[keys[0]], b"Subject: m1\r\n\r\n");
}
