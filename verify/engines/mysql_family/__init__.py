"""Code the MySQL-family engines (MariaDB, MySQL) share."""
