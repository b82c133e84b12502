"""A forked process (a worker of a preloaded gunicorn) opens connections of its own."""

import os

from sqlalchemy import text


def test_a_forked_child_does_not_use_the_parents_pooled_connection(database):
    database.session.execute(text("SELECT 1"))
    database.session.commit()  # the connection goes back to the pool, where a child would find it
    parent_pool = database.engine.pool
    checked_in = parent_pool.checkedin()
    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:  # the child: its pool starts empty and its query runs on a connection of its own
        try:
            empty = database.engine.pool.checkedin() == 0 and database.engine.pool is not parent_pool
            database.session.remove()
            with database.engine.connect() as connection:
                answered = connection.execute(text("SELECT 1")).scalar() == 1
            os.write(writing, b"1" if empty and answered else b"0")
        finally:
            os._exit(0)
    os.close(writing)
    answer = os.read(reading, 1)
    os.waitpid(child, 0)
    assert answer == b"1"
    assert parent_pool.checkedin() == checked_in  # the parent's connections were not closed by the child
    database.session.execute(text("SELECT 1"))
