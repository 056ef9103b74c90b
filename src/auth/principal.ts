/** Who is calling, as established by a verified token. Never taken from a query string or body. */
export interface Principal {
  userId: string;
  username: string;
  isAdmin: boolean;
}
