"""Exact pricing: POST /sendings/calculate over a whole audience, chunked, concurrent, resumable.

Recipients are normalised and de-duplicated (``recipients``), split into fixed chunks, and
each chunk is priced by the API within the rate limit, from a few threads, with a tqdm
progress bar.  Every chunk's answer is cached (keyed by its body), so a re-run -- after a
failure or a restarted kernel -- only asks for the chunks that are missing.  The answers are
checked and merged by ``Quote.build``.

>>> quote = calculate(api, "Sale today!", df["phone"], currency="GBP", countries=names)  # doctest: +SKIP
"""
from __future__ import annotations

import copy
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor, as_completed
from typing import Any, Iterable, Literal, Mapping, Sequence

from tqdm.auto import tqdm

from ..api.endpoints import Api
from ..audience.recipients import Recipients, normalize_recipients
from ..core import spec
from ..core.errors import SMSgicError, ValidationError
from .dask import is_lazy_audience
from .offline import check_message
from .quote import Quote

CHUNK_SIZE = 1000
MAX_WORKERS = 8


def audience(recipients: Any, *, on_invalid: Literal["raise", "report"] = "raise",
             default_region: str | None = None, progress: bool = False) -> Recipients:
    """Normalised, de-duplicated recipients; none left is the documented 'recipients not sent' refusal.

    A Dask Series (or an audience file) is normalised and de-duplicated partition by
    partition (``pricing.distributed.dask_recipients``): only its unique valid numbers, the
    invalid rows and the duplicates come back, never the raw frame; ``progress`` shows that pass.
    """
    if is_lazy_audience(recipients):
        if on_invalid not in ("raise", "report"):
            raise ValueError(f"on_invalid must be 'raise' or 'report', not {on_invalid!r}")
        from .dask import dask_recipients

        people = dask_recipients(recipients, default_region=default_region, progress=progress)
        if on_invalid == "raise":
            people.raise_for_invalid()
    else:
        people = normalize_recipients(recipients, on_invalid=on_invalid, default_region=default_region)
    if not people.numbers:
        raise ValidationError(f"{spec.MSG_MISSING_RECIPIENTS} ({people.summary()})",
                              field_errors={"recipients": [spec.MSG_MISSING_RECIPIENTS]})
    return people


def calculate(api: Api, message: str, people: Recipients, *, countries: Iterable[str], currency: str,
              progress: bool = True, chunk_size: int = CHUNK_SIZE, workers: int = 4, refresh: bool = False,
              cache: bool = True) -> Quote:
    """Price ``message`` for every one of ``people`` -> a checked, merged ``Quote``.

    ``countries`` are the /rates country names (they split "Country Operator" destinations).
    A chunk that fails after its retries raises the error it got, re-worded to name the chunk,
    with ``.chunk`` (0-based) and ``.unpriced`` (the numbers not priced).
    """
    check_message(message)
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, not {chunk_size}")
    chunks = plan_chunks(people.numbers, chunk_size)
    responses = _price_chunks(api, message, chunks, progress=progress, workers=workers, refresh=refresh, cache=cache)
    return Quote.build(message, chunks, responses, countries=countries, currency=currency, recipients=people)


def plan_chunks(numbers: Sequence[str], size: int) -> list[list[str]]:
    """Consecutive chunks of at most ``size`` numbers: deterministic, so that a re-run asks for
    the same bodies and finds the chunks already priced in the cache."""
    return [list(numbers[i:i + size]) for i in range(0, len(numbers), size)]


def _price_chunks(api: Api, message: str, chunks: Sequence[Sequence[str]], *, progress: bool, workers: int,
                  refresh: bool, cache: bool) -> list[Any]:
    """POST every chunk (concurrently); all answers in chunk order, or the first failure."""
    def one(chunk: Sequence[str], only_if_cached: bool = False) -> Any:
        return api.calculate(message, chunk, refresh=refresh, cache=cache, only_if_cached=only_if_cached)

    if len(chunks) == 1:
        return [one(chunks[0])]  # nothing partial to report: errors pass through untouched
    results: list[Any] = [None] * len(chunks)
    failures: dict[int, BaseException] = {}
    workers = max(2, min(MAX_WORKERS, workers, len(chunks)))
    with tqdm(total=sum(map(len, chunks)), unit="numbers", desc="Pricing", disable=not progress) as bar, \
            ThreadPoolExecutor(max_workers=workers, thread_name_prefix="smsgic-calculate") as pool:
        if cache and not refresh:
            # Chunks priced before (a re-run, or a resume after a failure) come from the cache
            # here, in this thread: threads only help while waiting on the network.
            for i, chunk in enumerate(chunks):
                results[i] = one(chunk, only_if_cached=True)
                if results[i] is not None:
                    bar.update(len(chunk))
        futures: dict[Future[Any], int] = {
            pool.submit(one, chunk): i for i, chunk in enumerate(chunks) if results[i] is None}
        for future in as_completed(futures):
            i = futures[future]
            try:
                results[i] = future.result()
                bar.update(len(chunks[i]))
            except CancelledError:
                pass  # not started because another chunk failed; listed as unpriced below
            except Exception as exc:  # noqa: BLE001 - re-raised below with the chunk named
                failures[i] = exc
                for other in futures:
                    other.cancel()  # stop starting new chunks; finished ones stay cached
    if failures:
        raise _chunk_failure(chunks, results, failures)
    return results


def _chunk_failure(chunks: Sequence[Sequence[str]], results: Sequence[Any],
                   failures: Mapping[int, BaseException]) -> BaseException:
    """The first failed chunk's error, re-worded to name the chunk and the unpriced numbers."""
    first = min(failures)
    cause = failures[first]
    unpriced = tuple(n for i, chunk in enumerate(chunks) if results[i] is None for n in chunk)
    done = sum(r is not None for r in results)
    reason = cause.message if isinstance(cause, SMSgicError) else f"{type(cause).__name__}: {cause}"
    detail = (f"calculate chunk {first + 1} of {len(chunks)} ({len(chunks[first])} numbers from {chunks[first][0]}) "
              f"failed: {reason}. {len(unpriced)} numbers are unpriced (see .unpriced); {done} chunks are priced "
              f"and cached - call calculate() again to fetch only the missing ones.")
    if isinstance(cause, SMSgicError):
        error: BaseException = copy.copy(cause)
        error.message = detail  # type: ignore[attr-defined]
    else:
        error = SMSgicError(detail)
    error.args = (detail,)
    error.chunk = first  # type: ignore[attr-defined]
    error.unpriced = unpriced  # type: ignore[attr-defined]
    error.__cause__ = cause
    return error
