"""The folder mapper: special uses, common names, hierarchy, prefix and the Gmail layout."""

from __future__ import annotations

from importer.folders import FolderMapping, SourceFolder, plan_folders


def folder(name: str, *flags: str, delimiter: str | None = "/") -> SourceFolder:
    return SourceFolder(name, delimiter, frozenset(flags))


def destinations(plan: list[FolderMapping]) -> dict[str, str]:
    return {mapping.source: mapping.destination for mapping in plan}


def test_special_use_attribute_wins_over_the_name() -> None:
    plan = plan_folders(
        [folder("INBOX"), folder("Postausgang", r"\Sent"), folder("Sent Items")],
        "/",
        {r"\Sent": "Sent"},
    )
    assert destinations(plan) == {
        "INBOX": "INBOX",
        "Postausgang": "Sent",
        "Sent Items": "Sent Items",
    }
    assert [m.special_use for m in plan] == [None, r"\Sent", None]


def test_common_names_in_several_languages_map_to_the_destination_special_folders() -> None:
    names = {
        "Gesendete Elemente": "Gesendet",
        "Éléments envoyés": "Gesendet",
        "Papierkorb": "Papierkorb",
        "deleted items": "Papierkorb",
        "Courrier indésirable": "Spam",
        "Entwürfe": "Entwürfe",
        "Archives": "Archiv",
        "Cestino": "Papierkorb",
    }
    special = {
        r"\Sent": "Gesendet",
        r"\Trash": "Papierkorb",
        r"\Junk": "Spam",
        r"\Drafts": "Entwürfe",
        r"\Archive": "Archiv",
    }
    plan = plan_folders([folder(name) for name in names], "/", special)
    assert destinations(plan) == names


def test_destination_without_special_folders_gets_the_default_names() -> None:
    plan = plan_folders([folder("Inviati"), folder("Junk E-mail"), folder("Bozze")], "/")
    assert destinations(plan) == {"Inviati": "Sent", "Junk E-mail": "Junk", "Bozze": "Drafts"}


def test_hierarchy_is_respelled_with_the_destination_delimiter() -> None:
    plan = plan_folders(
        [
            folder("INBOX", delimiter="."),
            folder("Work.Projects.2024", delimiter="."),
            folder("a/b", delimiter="."),
        ],
        "/",
    )
    assert destinations(plan) == {
        "INBOX": "INBOX",
        "Work.Projects.2024": "Work/Projects/2024",
        "a/b": "a_b",
    }


def test_subfolders_follow_their_special_parent_and_inbox_keeps_its_spelling() -> None:
    plan = plan_folders(
        [folder("Gesendet"), folder("Gesendet/2020"), folder("inbox"), folder("inbox/Lists")],
        "/",
    )
    assert destinations(plan) == {
        "Gesendet": "Sent",
        "Gesendet/2020": "Sent/2020",
        "inbox": "INBOX",
        "inbox/Lists": "INBOX/Lists",
    }


def test_prefix_folder_holds_everything() -> None:
    plan = plan_folders([folder("INBOX"), folder("Sent Items"), folder("Work")], ".", prefix="Old")
    assert destinations(plan) == {
        "INBOX": "Old.INBOX",
        "Sent Items": "Old.Sent",
        "Work": "Old.Work",
    }


def test_source_namespace_prefix_is_removed() -> None:
    plan = plan_folders(
        [
            folder("INBOX", delimiter="."),
            folder("INBOX.Sent", delimiter="."),
            folder("INBOX.Clients.ACME", delimiter="."),
        ],
        "/",
        source_prefix="INBOX.",
    )
    assert destinations(plan) == {
        "INBOX": "INBOX",
        "INBOX.Sent": "Sent",
        "INBOX.Clients.ACME": "Clients/ACME",
    }


def test_unselectable_folders_are_left_out() -> None:
    plan = plan_folders([folder("INBOX"), folder("Shared", r"\Noselect")], "/")
    assert destinations(plan) == {"INBOX": "INBOX"}


def test_gmail_layout() -> None:
    plan = plan_folders(
        [
            folder("[Gmail]/All Mail", r"\All", r"\HasNoChildren"),
            folder("INBOX"),
            folder("[Gmail]", r"\Noselect", r"\HasChildren"),
            folder("[Gmail]/Sent Mail", r"\Sent"),
            folder("[Gmail]/Spam", r"\Junk"),
            folder("[Gmail]/Bin", r"\Trash"),
            folder("[Gmail]/Drafts", r"\Drafts"),
            folder("[Gmail]/Starred", r"\Flagged"),
            folder("[Gmail]/Important", r"\Important"),
            folder("Clients/ACME"),
            folder("Receipts"),
        ],
        "/",
        {r"\Sent": "Sent", r"\Trash": "Trash", r"\Junk": "Junk", r"\Archive": "Archive"},
    )
    assert destinations(plan) == {
        "INBOX": "INBOX",
        "[Gmail]/Sent Mail": "Sent",
        "[Gmail]/Spam": "Junk",
        "[Gmail]/Bin": "Trash",
        "[Gmail]/Drafts": "Drafts",
        "Clients/ACME": "Clients/ACME",
        "Receipts": "Receipts",
        "[Gmail]/All Mail": "Archive",
    }
    assert plan[0].source == "INBOX"
    assert plan[-1] == FolderMapping("[Gmail]/All Mail", "Archive", r"\Archive", catch_all=True)
    assert not any(mapping.catch_all for mapping in plan[:-1])


def test_google_mail_root_of_german_accounts_is_removed_too() -> None:
    plan = plan_folders(
        [folder("[Google Mail]/Gesendet", r"\Sent"), folder("[Google Mail]/Foo")], "/"
    )
    assert destinations(plan) == {"[Google Mail]/Gesendet": "Sent", "[Google Mail]/Foo": "Foo"}
