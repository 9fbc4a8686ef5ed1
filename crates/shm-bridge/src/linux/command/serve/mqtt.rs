//! `--mqtt mqtt://HOST[:PORT]`: the telemetry published to a broker
//! (Mosquitto, EMQX...), which carries it to other machines: the document of
//! `/api/telemetry` on `shm-bridge/TITLE/telemetry` at `--mqtt-rate`, and
//! `online` or `offline` retained on `shm-bridge/status`, `offline` also
//! as the last will the broker publishes if we vanish. A broker that goes
//! away is reconnected to every second; `online` is published again on
//! each connection, since a restarted broker may have lost it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rumqttc::{AsyncClient, Event, EventLoop, LastWill, MqttOptions, Outgoing, Packet, QoS};
use tokio::sync::watch;

use super::feed::{Latest, Snapshot};
use crate::cli::values::MqttUrl;

/// The retained status topic.
pub const STATUS: &str = "shm-bridge/status";
/// How often the broker expects a word from us; it publishes the will
/// after 1.5 times this without one.
const KEEP_ALIVE: Duration = Duration::from_secs(5);
/// Between two tries to reach a broker that is not there.
const RETRY: Duration = Duration::from_secs(1);
/// How long the goodbye (`offline`, then a clean disconnect) may take.
const GOODBYE: Duration = Duration::from_secs(2);
/// The largest message, either way: a document with raw pages is large.
const MAX_PACKET: usize = 1 << 20;

/// The telemetry topic of a title: `shm-bridge/assetto-corsa-competizione/telemetry`
/// (the title in lower case, every run of other characters than letters
/// and digits one `-`: MQTT's wildcards and levels never appear in it).
pub fn telemetry_topic(title: &str) -> String {
    let mut slug = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    format!(
        "shm-bridge/{}/telemetry",
        if slug.is_empty() { "game" } else { slug }
    )
}

/// Publishes until `stopping`, then says `offline` and disconnects.
pub async fn publish(
    url: MqttUrl,
    title: String,
    latest: Latest,
    rate: u32,
    client_id: String,
    mut stopping: watch::Receiver<bool>,
) {
    let topic = telemetry_topic(&title);
    let mut options = MqttOptions::new(client_id, url.host.clone(), url.port);
    options
        .set_keep_alive(KEEP_ALIVE)
        .set_max_packet_size(MAX_PACKET, MAX_PACKET)
        .set_last_will(LastWill::new(STATUS, "offline", QoS::AtLeastOnce, true));
    let (client, events) = AsyncClient::new(options, 64);
    let connected = Arc::new(AtomicBool::new(false));
    let mut poller = tokio::spawn(poll(events, client.clone(), connected.clone(), url.clone()));
    note!("shm-bridge: publishing {title} to {url} on {topic} ({rate} a second) and {STATUS}");
    let mut tick = tokio::time::interval(Duration::from_secs(1) / rate);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut sent: Option<Arc<Snapshot>> = None;
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if !connected.load(Ordering::Relaxed) {
                    continue;
                }
                let now = latest.borrow().clone();
                let fresh = sent.as_ref().is_none_or(|s| !Arc::ptr_eq(s, &now));
                if now.live && fresh {
                    // A full queue (a broker that stopped reading) skips this one.
                    let _ = client.try_publish(&topic, QoS::AtMostOnce, false, now.json.to_vec());
                    sent = Some(now);
                }
            }
            _ = stopping.changed() => break,
        }
    }
    if connected.load(Ordering::Relaxed)
        && client
            .try_publish(STATUS, QoS::AtLeastOnce, true, "offline")
            .is_ok()
        && client.try_disconnect().is_ok()
        && tokio::time::timeout(GOODBYE, &mut poller).await.is_ok()
    {
        return;
    }
    poller.abort();
}

/// Drives the connection: says `online` on each connection, and tries again
/// every second while the broker cannot be reached; ends after a clean
/// disconnect.
async fn poll(
    mut events: EventLoop,
    client: AsyncClient,
    connected: Arc<AtomicBool>,
    url: MqttUrl,
) {
    let mut down_said = false;
    loop {
        match events.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                connected.store(true, Ordering::Relaxed);
                if down_said {
                    note!("shm-bridge: MQTT broker {url} reached again");
                    down_said = false;
                }
                let _ = client.try_publish(STATUS, QoS::AtLeastOnce, true, "online");
            }
            Ok(Event::Outgoing(Outgoing::Disconnect)) => {
                connected.store(false, Ordering::Relaxed);
                return;
            }
            Ok(_) => {}
            Err(e) => {
                connected.store(false, Ordering::Relaxed);
                if !down_said {
                    note!("shm-bridge: MQTT broker {url}: {e}; trying again every second");
                    down_said = true;
                }
                tokio::time::sleep(RETRY).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_hold_the_title_as_one_level_without_wildcards() {
        assert_eq!(
            telemetry_topic("Assetto Corsa Competizione"),
            "shm-bridge/assetto-corsa-competizione/telemetry"
        );
        assert_eq!(
            telemetry_topic("ACC / AC EVO"),
            "shm-bridge/acc-ac-evo/telemetry"
        );
        assert_eq!(telemetry_topic("a+#/b"), "shm-bridge/a-b/telemetry");
        assert_eq!(telemetry_topic("++"), "shm-bridge/game/telemetry");
    }
}
