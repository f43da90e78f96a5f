//! The server's notion of "now", which a test can set.
//!
//! Credential expiry and the SigV4 five-minute skew window are decided
//! against this clock, so a test moves time instead of sleeping. Pacing of
//! streams (time to first byte, gaps between events) is real time: it exists
//! to exercise a client's incremental parsing, which needs real waits.
//!
//! A rule's stall is different: it is time the server spends saying
//! nothing, and a client's deadline decides what happens. So are a
//! recorded answer's gaps (`Answer::Recorded`): they are waited as stalls
//! are, without being journaled as stalls. On a running
//! clock a stall is a real wait. On a fixed clock it is virtual: an
//! in-process client that waits through [`Clock::wait`] and the stalls
//! are put on one timeline, and when every wait is on a stalled answer
//! the clock jumps to the first moment a stall ends or a wait gives up.
//! Nothing else could happen before then, so a 600-second stall against
//! an 8-second deadline is decided at once, the same way every run. A
//! stall on a fixed clock that no such client waits on ends when the test
//! moves the clock past it, or when the server stops.
//!
//! A fixed clock can run again ([`Clock::follow_system`], [`Clock::skew`],
//! or a server's reset back to a running start): then each wait and stall
//! on its timeline goes on in real time for what was left of it.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::sync::Notify;

/// A shared, settable clock. Clones share the same time.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use bedrock_mock_server::Clock;
///
/// let clock = Clock::fixed(UNIX_EPOCH + Duration::from_secs(1_795_623_841));
/// clock.advance(Duration::from_secs(60));
/// assert_eq!(clock.now(), UNIX_EPOCH + Duration::from_secs(1_795_623_901));
/// ```
#[derive(Debug, Clone, Default)]
pub struct Clock {
    state: Arc<Mutex<State>>,
    /// Wakes waits and stalls when the timeline changes.
    changed: Arc<Notify>,
}

#[derive(Debug, Default)]
struct State {
    mode: Mode,
    timeline: Timeline,
}

#[derive(Debug, Clone, Copy, Default)]
enum Mode {
    /// The system clock.
    #[default]
    System,
    /// The system clock, `ahead_ms` milliseconds ahead (negative: behind).
    Shifted { ahead_ms: i64 },
    /// Time stands still until the test moves it.
    Fixed(SystemTime),
}

/// The waits and stalls of a fixed clock.
#[derive(Default)]
struct Timeline {
    next_id: u64,
    waits: Vec<Wait>,
    stalls: Vec<Silence>,
    /// Clients starting several requests at once: until each has put its
    /// wait on the timeline, the ones already there are not all it waits
    /// for.
    holds: usize,
}

/// A client waiting on `request`, giving up at `deadline`; `received`:
/// `None` while the answer's head has not come, else the body bytes read.
struct Wait {
    id: u64,
    request: String,
    received: Option<u64>,
    deadline: SystemTime,
    state: WaitState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WaitState {
    Waiting,
    GaveUp,
    /// The clock runs again: the rest of the wait is real time.
    Released(Duration),
}

/// The server saying nothing on `request` until `end`; `sent`: `None`
/// before the answer's head, else the body bytes sent.
struct Silence {
    id: u64,
    request: String,
    sent: Option<u64>,
    end: SystemTime,
    state: StallState,
    /// Called at the moment the client gives up on it (the journal's
    /// mark): the connection may be gone before the stall is polled again.
    on_give_up: Option<GiveUpHook>,
}

/// What a stall does when its client gives up.
struct GiveUpHook(Box<dyn FnOnce() + Send>);

/// Counts only: a request line's query may hold a credential (an STS
/// web identity token), and `Debug` output ends up in logs.
impl std::fmt::Debug for Timeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Timeline")
            .field("waits", &self.waits.len())
            .field("stalls", &self.stalls.len())
            .field("holds", &self.holds)
            .finish()
    }
}

impl Silence {
    /// Whether `wait` is blocked on this stall: the same request, and the
    /// client has read everything sent before it (bytes still on their
    /// way would wake the client first).
    fn holds(&self, wait: &Wait) -> bool {
        self.state == StallState::Stalling
            && self.request == wait.request
            && self.sent == wait.received
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StallState {
    Stalling,
    /// The stall's time is up: the server goes on.
    Over,
    /// The client gave up first.
    Abandoned,
    /// The clock runs again: the rest of the stall is real time.
    Released(Duration),
}

impl Timeline {
    fn add_wait(&mut self, request: String, received: Option<u64>, deadline: SystemTime) -> u64 {
        self.next_id += 1;
        self.waits.push(Wait {
            id: self.next_id,
            request,
            received,
            deadline,
            state: WaitState::Waiting,
        });
        self.next_id
    }

    fn add_stall(
        &mut self,
        request: String,
        sent: Option<u64>,
        end: SystemTime,
        on_give_up: Option<GiveUpHook>,
    ) -> u64 {
        self.next_id += 1;
        self.stalls.push(Silence {
            id: self.next_id,
            request,
            sent,
            end,
            on_give_up,
            state: StallState::Stalling,
        });
        self.next_id
    }

    /// Whether every live wait is on a stalled answer (each wait matched
    /// to its own stall of the same request): then only time can move
    /// things on. Returns the first moment something happens: a stall
    /// ending or a wait giving up.
    fn next_event(&self) -> Option<SystemTime> {
        let waits: Vec<&Wait> = self
            .waits
            .iter()
            .filter(|w| w.state == WaitState::Waiting)
            .collect();
        if waits.is_empty() || self.holds > 0 {
            return None;
        }
        let mut unmatched: Vec<&Silence> = self
            .stalls
            .iter()
            .filter(|s| s.state == StallState::Stalling)
            .collect();
        let mut first = None::<SystemTime>;
        for wait in &waits {
            let at = unmatched.iter().position(|s| s.holds(wait))?;
            let stall = unmatched.swap_remove(at);
            let soonest = wait.deadline.min(stall.end);
            first = Some(first.map_or(soonest, |t| t.min(soonest)));
        }
        first
    }

    /// Time has reached `now`: waits past their deadline give up (their
    /// stalls are abandoned), then stalls past their end are over. A wait
    /// whose deadline is the very moment its stall ends gives up: the
    /// client's timer fires before the bytes arrive.
    fn reach(&mut self, now: SystemTime) -> bool {
        let mut changed = false;
        for wait in self
            .waits
            .iter_mut()
            .filter(|w| w.state == WaitState::Waiting)
        {
            if wait.deadline <= now {
                wait.state = WaitState::GaveUp;
                changed = true;
                if let Some(stall) = self.stalls.iter_mut().find(|s| s.holds(wait)) {
                    stall.state = StallState::Abandoned;
                    if let Some(GiveUpHook(hook)) = stall.on_give_up.take() {
                        hook();
                    }
                }
            }
        }
        for stall in self
            .stalls
            .iter_mut()
            .filter(|s| s.state == StallState::Stalling && s.end <= now)
        {
            stall.state = StallState::Over;
            changed = true;
        }
        changed
    }

    /// The clock, fixed at `now`, runs again: every wait and stall still
    /// on goes on in real time for what was left of it.
    fn release(&mut self, now: SystemTime) -> bool {
        let left = |until: SystemTime| until.duration_since(now).unwrap_or_default();
        let mut changed = false;
        for wait in self
            .waits
            .iter_mut()
            .filter(|w| w.state == WaitState::Waiting)
        {
            wait.state = WaitState::Released(left(wait.deadline));
            changed = true;
        }
        for stall in self
            .stalls
            .iter_mut()
            .filter(|s| s.state == StallState::Stalling)
        {
            stall.state = StallState::Released(left(stall.end));
            stall.on_give_up = None;
            changed = true;
        }
        changed
    }
}

/// What a stall does next (`Clock::stall_step`).
enum StallStep {
    /// Over (`true`), or abandoned by its client (`false`).
    Ended(bool),
    /// Goes on in real time for this long.
    Released(Duration),
    /// The clock moved: look again.
    Moved,
    /// Waits for the timeline to change.
    Blocked,
}

/// How a clock was running at some moment (a server's start), to put it
/// back so.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Setting(Mode);

/// Keeps stalls from moving the clock while a client starts several
/// requests at once; see [`Clock::hold`].
#[derive(Debug)]
pub struct Hold {
    clock: Clock,
}

impl Drop for Hold {
    fn drop(&mut self) {
        self.clock.lock().timeline.holds -= 1;
        self.clock.changed.notify_waiters();
    }
}

/// Removes a wait or stall from the timeline when its future ends or is
/// dropped (a client that got its answer, a connection that closed).
struct Registered {
    clock: Clock,
    id: u64,
}

impl Drop for Registered {
    fn drop(&mut self) {
        {
            let mut state = self.clock.lock();
            state.timeline.waits.retain(|w| w.id != self.id);
            state.timeline.stalls.retain(|s| s.id != self.id);
        }
        self.clock.changed.notify_waiters();
    }
}

impl Clock {
    /// Follows the system clock.
    pub fn system() -> Self {
        Self::default()
    }

    /// Stands still at `at` until [`Clock::set`] or [`Clock::advance`].
    pub fn fixed(at: SystemTime) -> Self {
        Self {
            state: Arc::new(Mutex::new(State {
                mode: Mode::Fixed(at),
                timeline: Timeline::default(),
            })),
            changed: Arc::default(),
        }
    }

    /// The current time.
    pub fn now(&self) -> SystemTime {
        match self.lock().mode {
            Mode::System => SystemTime::now(),
            Mode::Shifted { ahead_ms } => shift(SystemTime::now(), ahead_ms),
            Mode::Fixed(at) => at,
        }
    }

    /// Stops the clock at `at`.
    pub fn set(&self, at: SystemTime) {
        self.switch(Mode::Fixed(at));
    }

    /// Follows the system clock again, after [`Clock::set`],
    /// [`Clock::advance`] or [`Clock::skew`]. Waits and stalls on a fixed
    /// clock's timeline go on in real time for what was left of them.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime, UNIX_EPOCH};
    /// use bedrock_mock_server::Clock;
    ///
    /// let clock = Clock::fixed(UNIX_EPOCH);
    /// clock.follow_system();
    /// assert!(clock.now() > SystemTime::now() - Duration::from_secs(60));
    /// ```
    pub fn follow_system(&self) {
        self.switch(Mode::System);
    }

    /// How the clock runs now, for [`Clock::restore`].
    pub(crate) fn setting(&self) -> Setting {
        Setting(self.lock().mode)
    }

    /// Runs the clock as it ran when `setting` was taken: fixed at the
    /// same time, or following the system clock with the same skew.
    pub(crate) fn restore(&self, setting: Setting) {
        self.switch(setting.0);
    }

    /// Runs the clock in `mode`: a fixed clock's timeline reaches the new
    /// time, or is released into real time when the clock runs again.
    fn switch(&self, mode: Mode) {
        let changed = {
            let mut state = self.lock();
            let was = std::mem::replace(&mut state.mode, mode);
            match (was, mode) {
                (_, Mode::Fixed(at)) => state.timeline.reach(at),
                (Mode::Fixed(at), _) => state.timeline.release(at),
                _ => false,
            }
        };
        if changed {
            self.changed.notify_waiters();
        }
    }

    /// Moves the clock forward. A system clock becomes a shifted one, so it
    /// keeps running. A step past the last representable time is ignored.
    pub fn advance(&self, by: Duration) {
        let by_ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        let mut state = self.lock();
        state.mode = match state.mode {
            Mode::System => Mode::Shifted { ahead_ms: by_ms },
            Mode::Shifted { ahead_ms } => Mode::Shifted {
                ahead_ms: ahead_ms.saturating_add(by_ms),
            },
            Mode::Fixed(at) => Mode::Fixed(at.checked_add(by).unwrap_or(at)),
        };
        let changed = match state.mode {
            Mode::Fixed(now) => state.timeline.reach(now),
            _ => false,
        };
        drop(state);
        if changed {
            self.changed.notify_waiters();
        }
    }

    /// Runs the system clock `ahead_ms` milliseconds ahead (negative: behind),
    /// as a server whose clock is skewed from the client's.
    pub fn skew(&self, ahead_ms: i64) {
        self.switch(Mode::Shifted { ahead_ms });
    }

    /// Resolves when a client in the same process, waiting on `request`
    /// (its method and path as sent: `POST /model/m/invoke`), gives up
    /// after `limit`. `received` is `None` while the answer's head has not
    /// come, else the bytes of its body read so far. On a running clock that is real
    /// time. On a fixed clock it is when the clock passes the deadline:
    /// moved by the test, or by the server when every such wait is on an
    /// answer a rule is stalling (see the module's documentation).
    ///
    /// The wait counts from its first poll: poll it only once the answer
    /// is found not to have come yet, so a wait on the timeline is a
    /// client that is really blocked.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use bedrock_mock_server::Clock;
    ///
    /// let clock = Clock::fixed(UNIX_EPOCH);
    /// let wait = tokio::spawn(clock.wait("POST /model/m/invoke", None, Duration::from_secs(8)));
    /// tokio::task::yield_now().await; // the client polls, and is blocked
    /// clock.advance(Duration::from_secs(8));
    /// wait.await.unwrap(); // gave up: eight seconds passed
    /// # }
    /// ```
    pub fn wait(
        &self,
        request: &str,
        received: Option<u64>,
        limit: Duration,
    ) -> impl Future<Output = ()> + Send + 'static {
        let clock = self.clone();
        let request = request.to_owned();
        async move {
            let registered = clock.register(|timeline, now| {
                timeline.add_wait(request, received, now.checked_add(limit).unwrap_or(now))
            });
            let Some(registered) = registered else {
                tokio::time::sleep(limit).await;
                return;
            };
            // A new wait may be the last one a stall was waiting for.
            clock.changed.notify_waiters();
            loop {
                let notified = clock.changed.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                let state = clock
                    .lock()
                    .timeline
                    .waits
                    .iter()
                    .find(|w| w.id == registered.id)
                    .map(|w| w.state);
                match state {
                    Some(WaitState::Waiting) => notified.await,
                    Some(WaitState::Released(left)) => {
                        drop(registered);
                        tokio::time::sleep(left).await;
                        return;
                    }
                    Some(WaitState::GaveUp) | None => return,
                }
            }
        }
    }

    /// The server says nothing on `request` for `duration` (`sent`: `None`
    /// before the head, else the body bytes sent): real time on a
    /// running clock, the timeline on a fixed one. Ends early (returns
    /// `false`) when the client waiting on it gave up first, calling
    /// `on_give_up` at that moment.
    pub(crate) fn stall(
        &self,
        request: String,
        sent: Option<u64>,
        duration: Duration,
        on_give_up: Option<Box<dyn FnOnce() + Send>>,
    ) -> Pin<Box<dyn Future<Output = bool> + Send>> {
        let clock = self.clone();
        Box::pin(async move {
            let registered = clock.register(|timeline, now| {
                timeline.add_stall(
                    request,
                    sent,
                    now.checked_add(duration).unwrap_or(now),
                    on_give_up.map(GiveUpHook),
                )
            });
            let Some(registered) = registered else {
                tokio::time::sleep(duration).await;
                return true;
            };
            loop {
                let notified = clock.changed.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                match clock.stall_step(registered.id) {
                    StallStep::Ended(over) => return over,
                    StallStep::Released(left) => {
                        drop(registered);
                        tokio::time::sleep(left).await;
                        return true;
                    }
                    StallStep::Moved => clock.changed.notify_waiters(),
                    StallStep::Blocked => notified.await,
                }
            }
        })
    }

    /// Where the stall `id` is: ended, released into real time, or still
    /// on; then, if only time can move things on, the clock jumps to the
    /// next moment something happens.
    fn stall_step(&self, id: u64) -> StallStep {
        let mut state = self.lock();
        let mine = state
            .timeline
            .stalls
            .iter()
            .find(|s| s.id == id)
            .map(|s| s.state);
        match mine {
            Some(StallState::Over) | None => return StallStep::Ended(true),
            Some(StallState::Abandoned) => return StallStep::Ended(false),
            Some(StallState::Released(left)) => return StallStep::Released(left),
            Some(StallState::Stalling) => {}
        }
        match (state.mode, state.timeline.next_event()) {
            (Mode::Fixed(now), Some(at)) => {
                let at = at.max(now);
                state.mode = Mode::Fixed(at);
                if state.timeline.reach(at) {
                    return StallStep::Moved;
                }
                StallStep::Blocked
            }
            _ => StallStep::Blocked,
        }
    }

    /// Holds the clock where it is against stalls until the guard is
    /// dropped: for a client sharing the clock that starts several
    /// requests at once, so that a stall on the first does not move time
    /// before the others are sent and waited on. Moving the clock by hand
    /// still works.
    pub fn hold(&self) -> Hold {
        self.lock().timeline.holds += 1;
        Hold {
            clock: self.clone(),
        }
    }

    /// Puts a wait or a stall on a fixed clock's timeline (`add` gets the
    /// time now); `None` on a running clock, where both are real time.
    fn register(&self, add: impl FnOnce(&mut Timeline, SystemTime) -> u64) -> Option<Registered> {
        let mut state = self.lock();
        let Mode::Fixed(now) = state.mode else {
            return None;
        };
        let id = add(&mut state.timeline, now);
        state.timeline.reach(now);
        Some(Registered {
            clock: self.clone(),
            id,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The guarded value is plain data: a panic elsewhere cannot leave it
        // half-written, so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn shift(t: SystemTime, ms: i64) -> SystemTime {
    if ms >= 0 {
        t + Duration::from_millis(ms as u64)
    } else {
        t - Duration::from_millis(ms.unsigned_abs())
    }
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;

    #[test]
    fn clones_share_time() {
        let a = Clock::fixed(UNIX_EPOCH);
        let b = a.clone();
        b.advance(Duration::from_secs(5));
        assert_eq!(a.now(), UNIX_EPOCH + Duration::from_secs(5));
    }

    const PROBE: &str = "POST /model/m/invoke";

    fn at(clock: &Clock) -> u64 {
        clock.now().duration_since(UNIX_EPOCH).unwrap().as_secs()
    }

    /// Lets spawned tasks run until they block.
    async fn settle() {
        for _ in 0..20 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn a_stall_past_the_deadline_ends_the_wait_at_the_deadline() {
        let clock = Clock::fixed(UNIX_EPOCH);
        let wait = tokio::spawn(clock.wait(PROBE, None, Duration::from_secs(8)));
        let stall =
            tokio::spawn(clock.stall(PROBE.to_owned(), None, Duration::from_secs(600), None));
        wait.await.unwrap();
        assert!(!stall.await.unwrap(), "the stall was abandoned");
        assert_eq!(at(&clock), 8);
    }

    #[tokio::test]
    async fn a_stall_inside_the_deadline_ends_first() {
        let clock = Clock::fixed(UNIX_EPOCH);
        let wait = tokio::spawn(clock.wait(PROBE, None, Duration::from_secs(8)));
        settle().await;
        assert!(
            clock
                .stall(PROBE.to_owned(), None, Duration::from_secs(3), None)
                .await
        );
        assert_eq!(at(&clock), 3);
        settle().await;
        assert!(!wait.is_finished(), "the wait is still on");
        clock.advance(Duration::from_secs(5));
        wait.await.unwrap();
    }

    #[tokio::test]
    async fn time_waits_for_every_waiting_request_to_be_stalled() {
        let clock = Clock::fixed(UNIX_EPOCH);
        let stalled = tokio::spawn(clock.wait(PROBE, None, Duration::from_secs(8)));
        let answered =
            tokio::spawn(clock.wait("POST /model/other/invoke", None, Duration::from_secs(8)));
        let stall =
            tokio::spawn(clock.stall(PROBE.to_owned(), None, Duration::from_secs(600), None));
        settle().await;
        assert_eq!(at(&clock), 0, "the other request is still being answered");
        answered.abort();
        stalled.await.unwrap();
        assert!(!stall.await.unwrap());
        assert_eq!(at(&clock), 8);
    }

    #[tokio::test]
    async fn time_waits_for_the_client_to_read_what_was_sent() {
        let clock = Clock::fixed(UNIX_EPOCH);
        // Still waiting for the head, while the server stalls three
        // frames (300 bytes) into the body: the head and those bytes are
        // on their way.
        let head = tokio::spawn(clock.wait(PROBE, None, Duration::from_secs(600)));
        let stall =
            tokio::spawn(clock.stall(PROBE.to_owned(), Some(300), Duration::from_secs(600), None));
        settle().await;
        assert_eq!(at(&clock), 0);
        head.abort();
        let idle = tokio::spawn(clock.wait(PROBE, Some(300), Duration::from_secs(180)));
        idle.await.unwrap();
        assert!(!stall.await.unwrap());
        assert_eq!(at(&clock), 180);
    }

    #[tokio::test]
    async fn a_hold_keeps_time_still_until_every_request_is_sent() {
        let clock = Clock::fixed(UNIX_EPOCH);
        let hold = clock.hold();
        let stalled = tokio::spawn(clock.wait(PROBE, None, Duration::from_secs(8)));
        let stall =
            tokio::spawn(clock.stall(PROBE.to_owned(), None, Duration::from_secs(600), None));
        settle().await;
        assert_eq!(at(&clock), 0, "the other requests are not sent yet");
        let other =
            tokio::spawn(clock.wait("POST /model/other/invoke", None, Duration::from_secs(8)));
        settle().await;
        drop(hold);
        settle().await;
        assert_eq!(at(&clock), 0, "the other request is still being answered");
        other.abort();
        stalled.await.unwrap();
        assert!(!stall.await.unwrap());
        assert_eq!(at(&clock), 8);
    }

    #[tokio::test]
    async fn a_stall_nobody_waits_on_does_not_move_time() {
        let clock = Clock::fixed(UNIX_EPOCH);
        let stall =
            tokio::spawn(clock.stall(PROBE.to_owned(), None, Duration::from_secs(600), None));
        settle().await;
        assert_eq!(at(&clock), 0);
        clock.advance(Duration::from_secs(600));
        assert!(
            stall.await.unwrap(),
            "over when the test moved time past it"
        );
    }

    #[tokio::test]
    async fn a_deadline_at_the_stall_s_end_gives_up() {
        let clock = Clock::fixed(UNIX_EPOCH);
        let wait = tokio::spawn(clock.wait(PROBE, None, Duration::from_secs(30)));
        let stall =
            tokio::spawn(clock.stall(PROBE.to_owned(), None, Duration::from_secs(30), None));
        wait.await.unwrap();
        assert!(!stall.await.unwrap());
    }

    #[tokio::test]
    async fn a_running_clock_stalls_in_real_time() {
        let clock = Clock::system();
        let started = std::time::Instant::now();
        assert!(
            clock
                .stall(PROBE.to_owned(), None, Duration::from_millis(20), None)
                .await
        );
        assert!(started.elapsed() >= Duration::from_millis(20));
    }

    #[tokio::test]
    async fn a_fixed_clock_that_runs_again_releases_its_timeline_into_real_time() {
        let clock = Clock::fixed(UNIX_EPOCH);
        // Nobody waits on the stall (the wait is on another request), so
        // on the fixed clock both would last until the test moved time.
        let stall =
            tokio::spawn(clock.stall(PROBE.to_owned(), None, Duration::from_millis(200), None));
        let wait =
            tokio::spawn(clock.wait("POST /model/other/invoke", None, Duration::from_millis(100)));
        settle().await;
        clock.advance(Duration::from_millis(50));
        let started = std::time::Instant::now();
        clock.follow_system();
        // Bounded: a timeline left behind would hold both forever.
        let both = async { (wait.await.unwrap(), stall.await.unwrap()) };
        let ((), over) = tokio::time::timeout(Duration::from_secs(10), both)
            .await
            .expect("released within what was left of them");
        assert!(over, "the stall ran out, in real time");
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(150),
            "what was left: {took:?}"
        );
        let drift = clock.now().duration_since(UNIX_EPOCH).unwrap();
        assert!(
            drift > Duration::from_secs(1_700_000_000),
            "the system's time"
        );
    }

    #[test]
    fn restore_runs_the_clock_as_at_the_setting() {
        let fixed = Clock::fixed(UNIX_EPOCH);
        let start = fixed.setting();
        fixed.follow_system();
        fixed.restore(start);
        assert_eq!(fixed.now(), UNIX_EPOCH);

        let running = Clock::system();
        running.skew(-600_000);
        let start = running.setting();
        running.set(UNIX_EPOCH);
        running.restore(start);
        let behind = SystemTime::now().duration_since(running.now()).unwrap();
        assert!(behind >= Duration::from_secs(599), "the skew is back");
    }

    #[test]
    fn skew_moves_a_running_clock() {
        let clock = Clock::system();
        clock.skew(-600_000);
        let behind = SystemTime::now().duration_since(clock.now()).unwrap();
        assert!(behind >= Duration::from_secs(599));
    }
}
