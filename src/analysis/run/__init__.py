"""Running studies: the papermill runner, its kernel pool, the command line, results.json."""
