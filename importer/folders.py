"""Where each source folder goes in the destination account: plain data in, a plan out.

Special folders are recognised first by their SPECIAL-USE attribute (RFC 6154),
then, for uses no source folder declares, by their common names in several
languages; they land in the destination's folder of the same use. The rest keep
their hierarchy, re-spelled with the destination's delimiter, optionally under
a prefix folder. Gmail: the ``[Gmail]/`` (``[Google Mail]/``) prefix goes,
labels are folders, the virtual views Starred and Important are left out (their
messages are in other folders; starring travels as ``\\Flagged``), and All Mail
comes last as a *catch-all*: only mail found in no other folder is copied
there, so unlabelled mail lands in Archive.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

INBOX = "INBOX"
ARCHIVE, DRAFTS, JUNK, SENT, TRASH = r"\Archive", r"\Drafts", r"\Junk", r"\Sent", r"\Trash"
ALL, FLAGGED, IMPORTANT = r"\All", r"\Flagged", r"\Important"
SPECIAL_USES = (ARCHIVE, DRAFTS, JUNK, SENT, TRASH)
VIRTUAL_VIEWS = (FLAGGED, IMPORTANT)
NOT_SELECTABLE = (r"\Noselect", r"\NonExistent")
GMAIL_ROOTS = ("[Gmail]", "[Google Mail]")

# Names used for the destination's special folders when it declares none.
DEFAULT_NAMES = {
    ARCHIVE: "Archive",
    DRAFTS: "Drafts",
    JUNK: "Junk",
    SENT: "Sent",
    TRASH: "Trash",
}

COMMON_NAMES = {
    SENT: (
        "Sent", "Sent Items", "Sent Messages", "Sent Mail", "Sent-Mail", "Sent E-mails",
        "Gesendet", "Gesendete Elemente", "Gesendete Objekte", "Gesendete Nachrichten",
        "Envoyés", "Éléments envoyés", "Messages envoyés", "Inviati", "Posta inviata",
        "Elementi inviati", "Enviados", "Elementos enviados", "Mensajes enviados",
        "Itens enviados", "Verzonden", "Verzonden items", "Skickat", "Skickade objekt",
        "Sendt", "Sendte elementer", "Lähetetyt",
    ),
    TRASH: (
        "Trash", "Deleted Items", "Deleted Messages", "Deleted", "Bin", "Papierkorb",
        "Gelöschte Elemente", "Gelöschte Objekte", "Corbeille", "Éléments supprimés",
        "Cestino", "Posta eliminata", "Elementi eliminati", "Papelera",
        "Elementos eliminados", "Lixeira", "Lixo", "Itens excluídos", "Prullenbak",
        "Verwijderde items", "Papperskorgen", "Roskakori",
    ),
    JUNK: (
        "Junk", "Spam", "Junk E-mail", "Junk Email", "Junk Mail", "Bulk Mail",
        "Courrier indésirable", "Pourriel", "Indésirables", "Spamverdacht", "Junk-E-Mail",
        "Posta indesiderata", "Correo no deseado", "Lixo eletrônico", "Ongewenste e-mail",
        "Skräppost", "Roskaposti",
    ),
    DRAFTS: (
        "Drafts", "Draft", "Entwürfe", "Brouillons", "Bozze", "Borradores", "Rascunhos",
        "Concepten", "Utkast", "Kladder", "Luonnokset",
    ),
    ARCHIVE: (
        "Archive", "Archives", "Archiv", "Archivio", "Archivo", "Arquivo", "Archief", "Arkiv",
    ),
}  # fmt: skip


def _folded(name: str) -> str:
    return unicodedata.normalize("NFC", name).strip().casefold()


_USE_BY_NAME = {_folded(name): use for use, names in COMMON_NAMES.items() for name in names}


@dataclass(frozen=True)
class SourceFolder:
    """One LIST reply: name (decoded), hierarchy delimiter (None if flat) and attributes."""

    name: str
    delimiter: str | None
    flags: frozenset[str] = frozenset()


@dataclass(frozen=True)
class FolderMapping:
    source: str
    destination: str
    special_use: str | None = None
    catch_all: bool = False


def plan_folders(
    source: Iterable[SourceFolder],
    destination_delimiter: str,
    destination_special: Mapping[str, str] | None = None,
    prefix: str | None = None,
    source_prefix: str = "",
) -> list[FolderMapping]:
    """Every selectable source folder with its destination: INBOX first, catch-alls last.

    ``destination_special`` maps a special use to the destination's folder
    name; ``source_prefix`` is the source's personal namespace prefix (e.g.
    ``INBOX.`` on Courier-style servers), removed before mapping. Subfolders
    of a special folder follow it (``Gesendet/2020`` becomes ``Sent/2020``).
    """
    folders = [
        folder
        for folder in source
        if not _flagged(folder, NOT_SELECTABLE) and not _flagged(folder, VIRTUAL_VIEWS)
    ]
    declared = {use for folder in folders for use in SPECIAL_USES if _flagged(folder, (use,))}
    special_names = {**DEFAULT_NAMES, **(destination_special or {})}
    paths = {folder.name: _path(folder, source_prefix) for folder in folders}
    uses = {folder.name: _special_use(folder, paths[folder.name], declared) for folder in folders}
    renamed = {
        tuple(paths[name]): special_names[use] for name, use in uses.items() if use is not None
    }
    plan = []
    for folder in folders:
        path = _renamed(paths[folder.name], renamed)
        if prefix:
            path = [prefix, *path]
        destination = destination_delimiter.join(
            part.replace(destination_delimiter, "_") for part in path
        )
        catch_all = _flagged(folder, (ALL,))
        plan.append(FolderMapping(folder.name, destination, uses[folder.name], catch_all))
    return sorted(plan, key=_order)


def _renamed(path: list[str], renamed: Mapping[tuple[str, ...], str]) -> list[str]:
    """``path`` with its nearest special ancestor (or itself) replaced by that folder's name."""
    for length in range(len(path), 0, -1):
        special = renamed.get(tuple(path[:length]))
        if special is not None:
            return [special, *path[length:]]
    if path[0].upper() == INBOX:
        return [INBOX, *path[1:]]
    return path


def _order(mapping: FolderMapping) -> tuple[int, str]:
    if mapping.catch_all:
        return 2, mapping.source
    return (0 if mapping.source.upper() == INBOX else 1), mapping.source


def _flagged(folder: SourceFolder, wanted: Iterable[str]) -> bool:
    flags = {flag.casefold() for flag in folder.flags}
    return any(flag.casefold() in flags for flag in wanted)


def _path(folder: SourceFolder, source_prefix: str) -> list[str]:
    """The folder's name as hierarchy parts, without namespace prefix or Gmail root."""
    name = folder.name
    if source_prefix and name.upper().startswith(source_prefix.upper()) and name != source_prefix:
        name = name[len(source_prefix) :]
    parts = name.split(folder.delimiter) if folder.delimiter else [name]
    if len(parts) > 1 and parts[0] in GMAIL_ROOTS:
        parts = parts[1:]
    return parts


def _special_use(folder: SourceFolder, path: list[str], declared: set[str]) -> str | None:
    if _flagged(folder, (ALL,)):
        return ARCHIVE
    for use in SPECIAL_USES:
        if _flagged(folder, (use,)):
            return use
    # Only a top-level folder is recognised by name, and only for a use no folder declares.
    if len(path) == 1:
        use = _USE_BY_NAME.get(_folded(path[0]))
        if use is not None and use not in declared:
            return use
    return None
