//! The fork protocol of a connection: the parent sets its references aside
//! under a token, the child connects anew and adopts them.

use std::collections::HashMap;

use super::super::core as service_core;
use super::super::wire::{Reply, Request};
use super::connection::{Connection, Link};
use crate::error::Result;

impl Connection {
    /// In the parent, right before `fork`: asks the service to set this
    /// process's references aside for the child.
    pub(super) fn pre_fork(&mut self) -> Result<()> {
        self.ready()?;
        let token = match &self.link {
            Link::Local(core) => service_core::lock(core).pre_fork(self.client).ok(),
            _ => match self.call(Request::PreFork)? {
                (Reply::Forked { token }, _) => Some(token),
                (Reply::Refused(_), _) => None,
                _ => return Err(self.broken("the service answered out of turn")),
            },
        };
        self.fork_token = Some(
            token.ok_or_else(|| self.error("the service cannot set this many segments aside"))?,
        );
        Ok(())
    }

    /// In a forked child: a connection of its own, and the references the
    /// parent set aside (or, without `pre_fork`, the ones it can still get).
    ///
    /// A socket inherited from the parent is not used (its messages would
    /// interleave with the parent's) but kept open until the child holds
    /// its own references: even a parent that exits at once cannot take
    /// the segments with it. A local link is the parent's memory: dropped
    /// unused.
    pub(super) fn after_fork_in_child(&mut self) -> Result<()> {
        let inherited = std::mem::take(&mut self.link);
        let old_service = self.service;
        let token = self.fork_token.take();
        let mut local = std::mem::take(&mut self.held);
        let result = self.reconnect();
        if result.is_err() || self.service != old_service {
            drop(inherited);
            return result;
        }
        let mut adopted: HashMap<u64, u32> = HashMap::new();
        if let Some(token) = token {
            match self.call(Request::Adopt { token })? {
                (Reply::Adopted(refs), _) => adopted.extend(refs),
                (Reply::Refused(_), _) => {}
                _ => return Err(self.broken("the service answered out of turn")),
            }
        }
        // Match what the service gave to what this process holds.
        for (&key, &count) in &adopted {
            let want = local.get(&key).copied().unwrap_or(0);
            if count > want {
                self.send(Request::Release {
                    key,
                    count: count - want,
                })?;
            }
        }
        for (key, want) in local.drain() {
            let got = adopted.get(&key).copied().unwrap_or(0).min(want);
            let mut have = got;
            if want > got {
                match self.call(Request::Retain {
                    key,
                    count: want - got,
                })? {
                    (Reply::Done, _) => have = want,
                    (Reply::Refused(_), _) => {}
                    _ => return Err(self.broken("the service answered out of turn")),
                }
            }
            if have > 0 {
                self.held.insert(key, have);
            }
        }
        drop(inherited);
        Ok(())
    }
}
