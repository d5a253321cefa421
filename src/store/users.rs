//! Known users: every name that has ever joined, kept in memory (a few
//! hundred bytes each) so a JOIN or a delivery never waits for a read; the
//! users whose row changed since the last commit (a dirty set), written
//! with the next one; and this pass's password changes, undone in memory
//! if its commit fails.

use super::StoreError;
use crate::clock::UserId;
use crate::names;
use rusqlite::{params, Connection};
use std::collections::HashMap;

/// A known user.
#[derive(Debug, Clone)]
pub struct User {
    /// Identity: the name in lower case.
    pub folded: String,
    /// Display name, as last spelled at JOIN.
    pub name: String,
    /// Argon2id PHC string, when the name is protected.
    pub password: Option<String>,
    pub last_seen: String,
    /// Stable number on disk (`users.id`), which clocks on disk refer to.
    pub(super) disk_id: i64,
}

/// Every known user, by number and by name, and what changed since the
/// last commit.
#[derive(Debug, Default)]
pub(super) struct Users {
    /// Indexed by `UserId`.
    list: Vec<User>,
    /// `UserId` by folded name.
    ids: HashMap<String, UserId>,
    /// `UserId` by number on disk, for reading clocks back.
    by_disk_id: HashMap<i64, UserId>,
    /// Users whose row (name, password, last seen) changed in memory and
    /// is not yet on disk: written at the next commit, and kept for the one
    /// after if that commit fails, so memory and disk never part ways.
    dirty: DirtySet,
    /// Password changes of this pass: (user, previous hash), undone in
    /// memory if the commit fails.
    password_undo: Vec<(UserId, Option<String>)>,
}

impl Users {
    /// Every user on disk, numbered in the order of their number on disk.
    pub(super) fn load(db: &Connection) -> rusqlite::Result<Users> {
        let mut stmt = db.prepare("SELECT folded, name, password, last_seen, id FROM users ORDER BY id")?;
        let rows = stmt
            .query_map([], |r| {
                Ok(User {
                    folded: r.get(0)?,
                    name: r.get(1)?,
                    password: r.get(2)?,
                    last_seen: r.get(3)?,
                    disk_id: r.get(4)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut users = Users::default();
        for user in rows {
            users.add(user);
        }
        Ok(users)
    }

    fn add(&mut self, user: User) -> UserId {
        let id = UserId(self.list.len() as u32);
        self.ids.insert(user.folded.clone(), id);
        self.by_disk_id.insert(user.disk_id, id);
        self.list.push(user);
        id
    }

    /// A known user's number, by name in any case.
    pub(super) fn id(&self, name: &str) -> Option<UserId> {
        self.ids.get(&names::fold(name)).copied()
    }

    /// The user numbered `id` (given out here, so known).
    pub(super) fn get(&self, id: UserId) -> &User {
        &self.list[id.0 as usize]
    }

    /// Every known user, indexed by `UserId`.
    pub(super) fn all(&self) -> &[User] {
        &self.list
    }

    /// The user whose number on disk is `disk_id`.
    pub(super) fn by_disk_id(&self, disk_id: i64) -> Option<UserId> {
        self.by_disk_id.get(&disk_id).copied()
    }

    /// A JOIN: a new name becomes known (with the next number on disk); a
    /// known one gets its spelling and last-seen time updated.
    pub(super) fn joined(&mut self, name: &str, ts: &str) -> UserId {
        let id = match self.id(name) {
            Some(id) => id,
            None => {
                // Users are loaded in number order and added at the end.
                let disk_id = self.list.last().map_or(0, |u| u.disk_id) + 1;
                self.add(User {
                    folded: names::fold(name),
                    name: String::new(),
                    password: None,
                    last_seen: String::new(),
                    disk_id,
                })
            }
        };
        let user = &mut self.list[id.0 as usize];
        user.name = name.to_string();
        user.last_seen = ts.to_string();
        self.dirty.insert(id);
        id
    }

    /// A user left: their last-seen time.
    pub(super) fn left(&mut self, name: &str, ts: &str) {
        if let Some(id) = self.id(name) {
            self.list[id.0 as usize].last_seen = ts.to_string();
            self.dirty.insert(id);
        }
    }

    /// Sets a user's password hash in memory, remembering the old one in
    /// case this pass's commit fails.
    pub(super) fn set_password(&mut self, name: &str, hash: &str) -> Result<(), StoreError> {
        let Some(id) = self.id(name) else {
            return Err(StoreError(format!("{name} is not a known user")));
        };
        let old = self.list[id.0 as usize].password.replace(hash.to_string());
        self.password_undo.push((id, old));
        self.dirty.insert(id);
        Ok(())
    }

    /// Every known user, sorted by name.
    pub(super) fn sorted(&self) -> Vec<&User> {
        let mut all: Vec<&User> = self.list.iter().collect();
        all.sort_by(|a, b| a.folded.cmp(&b.folded));
        all
    }

    /// Rows changed in memory and not yet on disk.
    pub(super) fn has_unsaved(&self) -> bool {
        !self.dirty.is_empty()
    }

    /// Writes the changed rows (inside the pass's transaction).
    pub(super) fn save(&self, db: &Connection) -> rusqlite::Result<()> {
        let mut up = db.prepare_cached(
            "INSERT INTO users (folded, id, name, password, created_at, last_seen)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5)
             ON CONFLICT (folded) DO UPDATE SET name = excluded.name, password = excluded.password,
                 last_seen = excluded.last_seen",
        )?;
        for u in self.dirty.iter().map(|&id| self.get(id)) {
            up.execute(params![u.folded, u.disk_id, u.name, u.password, u.last_seen])?;
        }
        Ok(())
    }

    /// The pass committed with the changed rows in it.
    pub(super) fn saved(&mut self) {
        self.dirty.clear();
        self.password_undo.clear();
    }

    /// The pass's commit failed: its password changes are undone (the
    /// other rows stay changed, and are written by a later commit).
    pub(super) fn rolled_back(&mut self) {
        for (id, old) in self.password_undo.drain(..).rev() {
            self.list[id.0 as usize].password = old;
        }
    }
}

/// Users changed since the last successful commit: a flag per user and the
/// list of those flagged, so marking one (done for every delivery) costs no
/// hashing.
#[derive(Debug, Default)]
pub(super) struct DirtySet {
    flags: Vec<bool>,
    list: Vec<UserId>,
}

impl DirtySet {
    pub(super) fn insert(&mut self, id: UserId) {
        let i = id.0 as usize;
        if i >= self.flags.len() {
            self.flags.resize(i + 1, false);
        }
        if !self.flags[i] {
            self.flags[i] = true;
            self.list.push(id);
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub(super) fn len(&self) -> usize {
        self.list.len()
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &UserId> {
        self.list.iter()
    }

    pub(super) fn clear(&mut self) {
        for id in self.list.drain(..) {
            self.flags[id.0 as usize] = false;
        }
    }

    /// Removes these users (any of them may be absent).
    pub(super) fn remove_all(&mut self, ids: &[UserId]) {
        if ids.is_empty() {
            return;
        }
        for id in ids {
            if let Some(f) = self.flags.get_mut(id.0 as usize) {
                *f = false;
            }
        }
        let flags = &self.flags;
        self.list.retain(|id| flags[id.0 as usize]);
    }
}

#[cfg(test)]
mod tests {
    use crate::store::tests::temp_db;
    use crate::store::{Commit, Store, StoreError};

    #[test]
    fn users_and_clocks_survive_reopening() {
        let p = temp_db("users");
        {
            let (mut s, mut clocks) = Store::open(&p).unwrap();
            let alice = s.user_joined("Alice", "t1");
            let bob = s.user_joined("bob", "t1");
            // As presence does at JOIN: new users enter the book.
            clocks.join(alice);
            clocks.join(bob);
            let c = clocks.next_send(alice);
            clocks.sent(alice, &c);
            clocks.receive(bob, &c);
            s.set_password("ALICE", "$argon2id$fake").unwrap();
            assert_eq!(s.commit(&mut clocks), Commit::Done);
        }
        let (s, mut clocks) = Store::open(&p).unwrap();
        let u = s.user("alice").expect("known");
        assert_eq!(u.name, "Alice");
        assert_eq!(u.password.as_deref(), Some("$argon2id$fake"));
        assert_eq!(s.format_clock(clocks.get(s.id("alice").unwrap())), "alice=1");
        assert_eq!(s.format_clock(clocks.get(s.id("BOB").unwrap())), "alice=1,bob=1");
    }

    #[test]
    fn a_failed_commit_undoes_the_password_changes_of_its_pass() {
        let p = temp_db("password-undo");
        let (mut s, mut clocks) = Store::open(&p).unwrap();
        s.user_joined("alice", "t");
        s.set_password("alice", "$argon2id$first").unwrap();
        assert_eq!(s.commit(&mut clocks), Commit::Done);
        s.set_password("alice", "$argon2id$second").unwrap();
        s.set_password("ALICE", "$argon2id$third").unwrap();
        s.db.failed = Some(StoreError("simulated".into()));
        assert!(matches!(s.commit(&mut clocks), Commit::Failed(_)));
        assert_eq!(s.user("alice").unwrap().password.as_deref(), Some("$argon2id$first"));
    }
}
