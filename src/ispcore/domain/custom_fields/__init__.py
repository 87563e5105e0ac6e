"""Custom fields: extra typed fields an ISP defines on accounts, contacts and addresses."""
