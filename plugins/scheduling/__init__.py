"""CalDAV scheduling (RFC 6638) with email invitations (iMIP, RFC 6047) on top of Radicale."""
