"""corral.fast_http.WriteBatcher: the requests a process has in flight share one write, never writing a row twice."""

import asyncio

import pytest

from corral.fast_http import WriteBatcher


def run_concurrently(items, write, key=lambda item: item[0]):
    """Submits the first item, and the others once its write has started; the outcomes (or errors), in order."""

    async def main():
        started = asyncio.Event()

        async def write_and_tell(batch):
            started.set()
            return await write(batch)

        batcher = WriteBatcher(write_and_tell, key=key)
        first = asyncio.create_task(batcher.submit(items[0]))
        await started.wait()
        rest = [asyncio.create_task(batcher.submit(item)) for item in items[1:]]
        return await asyncio.gather(first, *rest, return_exceptions=True)

    return asyncio.run(main())


def test_items_submitted_while_a_write_runs_share_the_next_write_and_each_gets_its_own_outcome():
    batches = []

    async def write(items):
        batches.append(items)
        await asyncio.sleep(0.01)
        return [f"{row}={value}" for row, value in items]

    items = [(row, "up") for row in range(10)]
    outcomes = run_concurrently(items, write)
    assert outcomes == [f"{row}=up" for row in range(10)]
    # The first item's write runs alone; the nine that arrive meanwhile go together.
    assert [len(batch) for batch in batches] == [1, 9]


def test_a_repeated_row_waits_for_the_next_write_in_the_order_it_came():
    batches = []

    async def write(items):
        batches.append(items)
        await asyncio.sleep(0)
        return [value for _row, value in items]

    items = [("a", 1), ("b", 1), ("a", 2), ("a", 3), ("b", 2)]
    assert run_concurrently(items, write) == [1, 1, 2, 3, 2]
    for batch in batches:
        rows = [row for row, _value in batch]
        assert len(rows) == len(set(rows))
    written_a = [value for batch in batches for row, value in batch if row == "a"]
    assert written_a == [1, 2, 3]


def test_a_failed_write_fails_only_its_own_batch():
    async def write(items):
        await asyncio.sleep(0.01)
        if items[0][0] == 0:
            raise ConnectionError("database went away")
        return [True for _item in items]

    outcomes = run_concurrently([(row, None) for row in range(4)], write)
    assert isinstance(outcomes[0], ConnectionError)
    assert outcomes[1:] == [True, True, True]


@pytest.mark.parametrize("count", [1, 50])
def test_every_submitted_item_is_answered(count):
    async def write(items):
        return [item for item in items]

    assert run_concurrently([(row, row) for row in range(count)], write) == [(row, row) for row in range(count)]



def test_idle_runs_once_the_queue_is_empty_and_items_arriving_meanwhile_are_still_written():
    events = []

    async def main():
        batcher = None

        async def write(items):
            events.append(("write", [row for row, _value in items]))
            await asyncio.sleep(0.01)
            return [value for _row, value in items]

        async def idle():
            events.append(("idle",))
            if len(events) == 2:
                late.append(asyncio.create_task(batcher.submit(("late", 2))))
            await asyncio.sleep(0.01)

        late = []
        batcher = WriteBatcher(write, key=lambda item: item[0], idle=idle)
        first = await batcher.submit(("early", 1))
        await asyncio.sleep(0.05)
        return first, await late[0]

    assert asyncio.run(main()) == (1, 2)
    assert events == [("write", ["early"]), ("idle",), ("write", ["late"]), ("idle",)]
