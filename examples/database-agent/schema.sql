-- The demo's database: two tables the orchestrators work with, and one nobody may touch.
CREATE TABLE customers (
  id integer PRIMARY KEY,
  name text NOT NULL,
  email text NOT NULL
);
CREATE TABLE orders (
  id integer PRIMARY KEY,
  customer_id integer NOT NULL REFERENCES customers (id),
  total numeric(10, 2) NOT NULL,
  status text NOT NULL DEFAULT 'new'
);
CREATE TABLE payroll (
  employee text PRIMARY KEY,
  salary integer NOT NULL
);

INSERT INTO customers VALUES (1, 'Ada', 'ada@example.com'), (2, 'Grace', 'grace@example.com');
INSERT INTO orders VALUES (1, 1, 120.00, 'shipped'), (2, 1, 35.50, 'new'), (3, 2, 990.00, 'new');
INSERT INTO payroll VALUES ('alice', 98000), ('bob', 87000);
