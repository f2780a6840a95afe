"""Mail is kept in the outbox until sent: never lost, never sent twice."""

import threading
from datetime import timedelta

from sqlalchemy import func, select

from giveaway import clock, db, mail
from giveaway.mail.models import OutboxMessage
from tests.conftest import Outbox
from tests.factories import make_user


class FlakyTransport:
    def __init__(self, inner, *, down: bool = True) -> None:
        self.inner = inner
        self.down = down
        self.sent = []
        self.lock = threading.Lock()

    def send_raw(self, sender, recipients, data):
        if self.down:
            raise ConnectionRefusedError("mail server down")
        with self.lock:
            self.sent.append(data)
        self.inner.send_raw(sender, recipients, data)


def queue_one(app, user):
    with app.test_request_context():
        mail.send(user.email, "verify_email", user=user, link="http://localhost/x")
        db.commit()


def rows(app):
    with app.app_context():
        return db.session().execute(select(OutboxMessage.__table__)).all()


def test_mail_is_sent_after_commit_and_body_dropped(app, outbox):
    user = make_user(app)
    queue_one(app, user)
    assert len(outbox.to(user.email)) == 1
    [row] = rows(app)
    assert row.sent_at is not None and row.body is None and row.attempts == 0


def test_rolled_back_work_sends_nothing(app, outbox):
    user = make_user(app)
    with app.test_request_context():
        mail.send(user.email, "verify_email", user=user, link="http://localhost/x")
        db.rollback()
        db.commit()
    assert len(outbox) == 0
    assert rows(app) == []


def test_mail_server_down_keeps_the_message_and_cron_sends_it_once(app, outbox):
    user = make_user(app)
    flaky = FlakyTransport(app.extensions["mail.transport"])
    app.extensions["mail.transport"] = flaky
    queue_one(app, user)
    assert len(outbox) == 0
    [row] = rows(app)
    assert row.sent_at is None and row.attempts == 1 and "mail server down" in row.last_error
    assert row.body is not None

    runner = app.test_cli_runner()
    # Not yet due: the retry waits for its delay.
    result = runner.invoke(args=["send-mail"])
    assert result.exit_code == 0 and "Sent 0" in result.output

    later = clock.now() + timedelta(minutes=2)
    app.config["CLOCK"] = lambda: later
    flaky.down = False
    result = runner.invoke(args=["send-mail"])
    assert result.exit_code == 0, result.output
    assert "Sent 1 waiting messages; 0 still waiting" in result.output
    assert len(outbox.to(user.email)) == 1
    result = runner.invoke(args=["send-mail"])
    assert "Sent 0 waiting messages" in result.output
    assert len(outbox) == 1 and len(flaky.sent) == 1


def test_two_senders_at_once_send_each_message_once(app, outbox):
    user = make_user(app)
    flaky = FlakyTransport(app.extensions["mail.transport"])
    app.extensions["mail.transport"] = flaky
    for _ in range(5):
        queue_one(app, user)
    later = clock.now() + timedelta(minutes=2)
    app.config["CLOCK"] = lambda: later
    flaky.down = False
    barrier = threading.Barrier(4)

    def worker():
        with app.app_context():
            barrier.wait()
            mail.retry_pending(db.session())
            db.commit()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(flaky.sent) == 5
    assert len(Outbox(app).to(user.email)) == 5


def test_gives_up_after_the_last_retry(app):
    user = make_user(app)
    app.extensions["mail.transport"] = FlakyTransport(None)
    queue_one(app, user)
    now = clock.now()
    for step in range(1, 10):
        moment = now + timedelta(hours=7 * step)
        app.config["CLOCK"] = lambda moment=moment: moment
        with app.app_context():
            mail.retry_pending(db.session())
    [row] = rows(app)
    assert row.failed_at is not None and row.sent_at is None
    assert row.attempts == len(mail.RETRY_DELAYS) + 1


def test_background_delivery_sends_after_the_response(app, outbox):
    import time

    app.config["MAIL_DELIVERY"] = "background"
    user = make_user(app)
    with app.test_request_context():
        mail.send(user.email, "verify_email", user=user, link="http://localhost/x")
        assert db.commit() is None
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not outbox.to(user.email):
        time.sleep(0.05)
    assert len(outbox.to(user.email)) == 1
    [row] = rows(app)
    assert row.sent_at is not None


def _later(user, **extra):
    def context():
        return {"user": user, "link": "http://localhost/x", **extra}

    return context


def test_send_later_mail_is_committed_with_the_work(app, outbox):
    """Staged into the work's own transaction: one commit for both, or neither."""
    from giveaway.events import service as events
    from giveaway.events.models import Event

    user = make_user(app)
    with app.test_request_context():
        session = db.session()
        events.record(session, "test:work", user)
        mail.send_later(user.email, "verify_email", _later(user))
        commits = []
        from sqlalchemy import event

        event.listen(
            session,
            "before_commit",
            lambda s: commits.append(sorted(type(o).__name__ for o in s.new)),
        )
        db.commit()
        # The first commit carries the work and its mail (then delivery commits its own).
        assert commits[0] == ["Event", "OutboxMessage"]
        assert session.scalar(select(OutboxMessage.id)) is not None
        assert session.scalar(select(Event.id).where(Event.kind == "test:work")) is not None
    assert len(outbox.to(user.email)) == 1

    with app.test_request_context():
        mail.send_later(user.email, "verify_email", _later(user))
        db.rollback()
        db.commit()
    assert len(rows(app)) == 1 and len(outbox.to(user.email)) == 1


def test_a_mail_that_cannot_be_rendered_does_not_undo_the_work(app, outbox, caplog):
    from giveaway.events import service as events
    from giveaway.events.models import Event

    user = make_user(app)

    def broken():
        raise RuntimeError("template context lost")

    with app.test_request_context():
        events.record(db.session(), "test:work", user)
        mail.send_later(user.email, "verify_email", broken)
        mail.send_later(user.email, "verify_email", _later(user))
        db.commit()
        assert db.session().scalar(select(Event.id).where(Event.kind == "test:work"))
    assert "could not render a mail" in caplog.text
    assert len(rows(app)) == 1 and len(outbox.to(user.email)) == 1


def test_a_batch_delivers_each_message_once_and_keeps_the_failures(app, outbox):
    """One claim, one mark-as-sent per batch; a failing recipient is retried alone."""

    class Picky(FlakyTransport):
        def send_raw(self, sender, recipients, data):
            if recipients == ["bounce@example.org"]:
                raise ConnectionRefusedError("no such mailbox server")
            return super().send_raw(sender, recipients, data)

    picky = Picky(app.extensions["mail.transport"], down=False)
    app.extensions["mail.transport"] = picky
    user = make_user(app)
    with app.app_context():
        ids = []
        for address in ["a@example.org", "bounce@example.org", "b@example.org"]:
            mail.send(address, "verify_email", user=user, link="http://localhost/x")
        mail.discard_queue()  # delivered below, by hand, not by the commit
        db.session().commit()
        ids = list(db.session().scalars(select(OutboxMessage.id).order_by(OutboxMessage.id)))
        sent = mail.deliver_many(db.session(), ids + ids)  # a repeated id is sent once
        assert sent == [ids[0], ids[2]]
        assert mail.deliver_many(db.session(), ids) == []  # nothing is sent twice
    assert len(picky.sent) == 2
    by_id = {row.id: row for row in rows(app)}
    assert by_id[ids[0]].sent_at and by_id[ids[2]].sent_at
    failed = by_id[ids[1]]
    assert failed.sent_at is None and failed.attempts == 1 and failed.body is not None
    assert "no such mailbox" in failed.last_error and failed.sending_since is None


def test_send_later_mail_of_work_committed_elsewhere_still_goes_out(app, outbox):
    """Work committed on a session of its own: db.commit() stores and sends its mail."""
    user = make_user(app)
    with app.test_request_context():
        mail.send_later(user.email, "verify_email", _later(user))
        db.commit()
    assert len(rows(app)) == 1 and len(outbox.to(user.email)) == 1


def _queue_many(app, user, count):
    """`count` messages in the outbox, to m0@…, m1@…, none sent yet."""
    with app.app_context():
        for n in range(count):
            mail.send(f"m{n}@example.org", "verify_email", user=user, link="http://localhost/x")
        mail.discard_queue()  # sent below by the runs under test, not by this commit
        db.session().commit()


class Recorder:
    """A mail server that accepts everything; `on_accept(n)` runs after the n-th message."""

    def __init__(self, on_accept=None) -> None:
        self.recipients: list[str] = []
        self.on_accept = on_accept

    def send_raw(self, sender, recipients, data):
        self.recipients.extend(recipients)
        if self.on_accept:
            self.on_accept(len(self.recipients))


def test_a_run_slower_than_the_lease_keeps_its_messages_from_the_next_run(app):
    """Issue 12, defect 2: a slow mail server made one run outlast the 10-minute claim
    window, and the next cron run sent the messages still waiting in it again."""
    user = make_user(app)
    _queue_many(app, user, 6)
    now = [clock.now()]
    app.config["CLOCK"] = lambda: now[0]
    other_runs = []

    def next_cron_run() -> None:
        with app.app_context():
            other_runs.append(mail.retry_pending(db.session()))

    def slow(count: int) -> None:
        now[0] += timedelta(minutes=4)  # each message takes the slow server 4 minutes
        if count in (3, 5):
            # Cron starts the next run while this one is still sending.
            other = threading.Thread(target=next_cron_run)
            other.start()
            other.join()

    server = Recorder(slow)
    app.extensions["mail.transport"] = server
    with app.app_context():
        assert mail.retry_pending(db.session()) == (6, 0)
    assert other_runs == [(0, 0), (0, 0)]  # nothing was free to take
    assert sorted(server.recipients) == [f"m{n}@example.org" for n in range(6)]


def test_a_database_fault_after_sending_repeats_one_message_at_most(app):
    """Issue 12, defect 2: a database fault between sending and marking sent made the
    next run send again every message of the batch."""
    from sqlalchemy import event

    user = make_user(app)
    _queue_many(app, user, 5)
    engine = app.extensions["db.engine"]
    armed = []

    def fault(conn, cursor, statement, parameters, context, executemany):
        if armed and statement.startswith("UPDATE outbox SET") and " sent_at=" in statement:
            raise OSError("the database went away")

    def arm(count: int) -> None:
        if count == 3:
            armed.append(True)

    event.listen(engine, "before_cursor_execute", fault)
    server = Recorder(arm)
    app.extensions["mail.transport"] = server
    try:
        with app.app_context():
            try:
                mail.retry_pending(db.session())
            except OSError:
                pass
            else:
                raise AssertionError("the fault did not reach the run")
    finally:
        event.remove(engine, "before_cursor_execute", fault)
    assert len(server.recipients) == 3  # the run stopped at the fault

    # The next run, once the stopped run's lease has run out, sends what is left.
    later = clock.now() + mail.LEASE + timedelta(minutes=1)
    app.config["CLOCK"] = lambda: later
    with app.app_context():
        assert mail.retry_pending(db.session()) == (3, 0)
    # Every message went out; only the one accepted just before the fault went twice.
    assert sorted(set(server.recipients)) == [f"m{n}@example.org" for n in range(5)]
    assert len(server.recipients) == 6
    assert server.recipients.count("m2@example.org") == 2


def test_work_after_commit_runs_in_its_own_transaction_and_a_failure_costs_only_itself(app, outbox):
    from giveaway.mail import outbox as outbox_module

    user = make_user(app, "wren")

    def write(session):
        mail.send_in(session, user.email, "verify_email", user=user, link="http://localhost/x")

    def broken(session):
        raise RuntimeError("cannot render")

    with app.app_context():
        maker = app.extensions["db.sessionmaker"]
        with maker() as session:
            outbox_module.run_after_commit(session, write, broken, write)
        assert db.session().scalar(select(func.count()).select_from(OutboxMessage)) == 2
    assert len(outbox.to(user.email)) == 2

    # Queued with the request's work, it runs once that work commits.
    with app.test_request_context():
        mail.after_commit(write)
        assert len(outbox.to(user.email)) == 2
        db.commit()
    assert len(outbox.to(user.email)) == 3
