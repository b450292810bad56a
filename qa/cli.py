"""The ``qa`` command: build, ask, eval, serve. It prints; the library does not."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.errors import QAError
from qa.render import CLOSEST_SAYS, UNSURE, citation, plural
from qa.retrieval import DEFAULT_K, MODES
from qa.store import INDEX_TYPES
from qa.types import Answer

if TYPE_CHECKING:
    from qa.index import Index

#: What ``qa ask`` prints for an abstention without one, before the citations.
NOT_FOUND = "Not found in the documents. Possibly related:"


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    setup_logging(verbose=args.verbose)
    try:
        return int(args.run(args) or 0)
    except (QAError, ValueError, FileNotFoundError) as error:
        print(f"qa: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def setup_logging(*, verbose: bool = False) -> None:
    """Log to stderr as ``qa: message``: warnings only, or from INFO up when ``verbose``."""
    level = logging.INFO if verbose else logging.WARNING
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("qa: %(message)s"))
    handler.setLevel(level)  # also for libraries whose loggers set themselves to DEBUG (bm25s)
    logging.basicConfig(level=level, handlers=[handler])


def ready_line(url: str, documents: int, passages: int) -> str:
    """What ``qa serve`` prints once the chat answers:
    ``Ready: http://127.0.0.1:7860 (3 documents, 12 passages)``."""
    return f"Ready: {url} ({plural(documents, 'document')}, {plural(passages, 'passage')})"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qa", description="Answers from your documents, quoted verbatim, with citations."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    build = commands.add_parser("build", help="build the index of a corpus folder")
    build.add_argument("corpus", nargs="?", help="corpus folder (default: corpus/)")
    build.add_argument("--index", help="index folder (default: index/)")
    build.add_argument("--model", help="sentence-transformers model name or path")
    build.add_argument("--quiet", action="store_true", help="no progress bar")
    build.add_argument(
        "--full", action="store_true", help="embed every document again (default: only changed)"
    )
    build.add_argument(
        "--store",
        choices=("faiss", "milvus"),
        help="where vectors and keyword index live (default: the index's own, else faiss)",
    )
    build.add_argument(
        "--uri",
        help="Milvus server, e.g. http://host:19530 (default: a Milvus Lite file in the index)",
    )
    build.add_argument("--collection", help="Milvus collection (default: qa_chunks)")
    build.add_argument(
        "--index-type",
        choices=INDEX_TYPES,
        help="dense index: auto (exact below 20,000 chunks, hnsw-sq8 above), flat, hnsw, "
        "hnsw-sq8 (default: the index's own, else auto)",
    )
    build.add_argument(
        "--ray",
        nargs="?",
        const=True,
        default=False,
        metavar="ADDRESS",
        help="embed on Ray: a local one, or the cluster at ADDRESS (ray://host:10001)",
    )
    build.set_defaults(run=_build)

    ask = commands.add_parser("ask", help="answer a question")
    ask.add_argument("question")
    _add_query_options(ask)
    ask.add_argument("--min-score", type=float, help="abstain below this score")
    ask.add_argument("--json", action="store_true", help="print the answer as JSON")
    ask.set_defaults(run=_ask)

    evaluate = commands.add_parser("eval", help="evaluate answers against a question set")
    evaluate.add_argument("questions", help="question set: .jsonl, .csv or SQuAD .json")
    _add_query_options(evaluate)
    evaluate.add_argument("--min-score", type=float, help="abstain below this score")
    evaluate.add_argument(
        "--split", help="only the questions of this split's articles (SQuAD: tune or test)"
    )
    evaluate.add_argument(
        "--splits", help="the splits file (default: splits.json beside the question set)"
    )
    evaluate.add_argument("--output", help="write the JSON report here")
    evaluate.add_argument("--csv", help="write one row per question here")
    evaluate.set_defaults(run=_eval)

    serve = commands.add_parser("serve", help="serve the web chat")
    serve.add_argument("--host", help="address to bind (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: 7860)")
    serve.set_defaults(run=_serve)
    return parser


def _add_query_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--index", help="index folder (default: index/, built when needed)")
    parser.add_argument(
        "--k", type=int, default=DEFAULT_K, help="passages to retrieve (default: %(default)s)"
    )
    parser.add_argument("--mode", choices=MODES, help="retrieval mode")
    parser.add_argument(
        "--reader", help="reader folder (default: the bundled reader); 'none' answers nothing"
    )


def _build(args: argparse.Namespace) -> int:
    import qa

    index = qa.build_index(
        args.corpus,
        args.index,
        model=args.model,
        show_progress=False if args.quiet else None,
        incremental=not args.full,
        store=args.store,
        uri=args.uri,
        collection=args.collection,
        ray=args.ray,
        index_type=args.index_type,
    )
    counts, embedded = index.manifest.counts, index.manifest.embedded
    print(
        f"Indexed {plural(counts.documents, 'document')} as {plural(counts.chunks, 'chunk')} "
        f"with {index.model_name} into {index.path}; "
        f"embedded {plural(embedded.chunks, 'chunk')}, reused {counts.chunks - embedded.chunks}"
    )
    return 0


def _ask(args: argparse.Namespace) -> int:
    index = _load(args)
    answer = index.ask(args.question, args.k, mode=args.mode, min_score=args.min_score)
    if args.json:
        print(json.dumps(answer_dict(answer), indent=2, ensure_ascii=False))
    else:
        print(answer_text(answer))
    return 0


def answer_text(answer: Answer) -> str:
    """An Answer as ``qa ask`` prints it: the sentence (for an abstention, the chat's words for an
    unsure answer, ``qa.render.UNSURE`` and ``CLOSEST_SAYS``, and the closest candidate's
    sentence, or ``NOT_FOUND`` when there was none), a blank line, then one
    line per citation: ``[rank] title, section, page, chars start-end``."""
    if not answer.abstained and answer.text is not None:
        lines = [answer.text]
    elif answer.closest is not None:
        lines = [f"{UNSURE} {CLOSEST_SAYS}", answer.closest.text]
    else:
        lines = [NOT_FOUND]
    lines.append("")
    for passage in answer.citations:
        where = citation(passage.title, passage.section, passage.page, passage.start, passage.end)
        lines.append(f"[{passage.rank}] {where}")
    return "\n".join(lines)


def _load(args: argparse.Namespace) -> Any:
    """The index named by ``--index``, answering with the reader named by ``--reader``."""
    import qa

    index = qa.load_index(args.index)
    if args.reader:
        index.reader = None if args.reader.lower() == "none" else Path(args.reader)
    return index


def answer_dict(answer: Answer) -> dict[str, Any]:
    """An Answer as JSON-ready data: the web API's shape, with each citation's metadata too
    (those of ``citations`` and the ``citation`` of ``closest``).

    A citation's ``metadata`` is ``Passage.metadata``, built from the typed fields (``chunk``,
    ``chunks``, ``section``, ``page``, then ``extra``): the same object the untyped dict of
    earlier versions was, so ``qa ask --json`` prints what it printed before.
    """
    data = answer.to_dict()
    for cited, passage in zip(data["citations"], answer.citations, strict=True):
        cited["metadata"] = passage.metadata
    if answer.closest is not None:
        data["closest"]["citation"]["metadata"] = answer.closest.citation.metadata
    return data


def _eval(args: argparse.Namespace) -> int:
    import qa

    if not Path(args.questions).is_file():
        raise FileNotFoundError(f"No question set at {args.questions}")
    index = _load(args)
    report = qa.evaluate(
        args.questions,
        index=index,
        k=args.k,
        mode=args.mode,
        min_score=args.min_score,
        split=args.split,
        splits=args.splits,
    )
    print(report.summary_table())
    if args.output:
        report.write_json(args.output)
        print(f"Report written to {args.output}")
    if args.csv:
        report.write_csv(args.csv)
        print(f"Rows written to {args.csv}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from qa.web import serve

    serve(host=args.host, port=args.port, on_ready=print_ready)
    return 0


def print_ready(url: str, index: Index) -> None:
    """Print the one line that says the chat at ``url`` answers, with what it answers from."""
    counts = index.manifest.counts
    print(ready_line(url, counts.documents, counts.chunks), flush=True)


if __name__ == "__main__":
    sys.exit(main())
