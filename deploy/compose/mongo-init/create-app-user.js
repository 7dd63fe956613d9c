// Run once by the mongo image on first start (an empty data volume), as the root user:
// creates the service's own user, with read and write on its database and nothing else.
const database = process.env.IDENTITY_DATABASE || "identity";
db.getSiblingDB(database).createUser({
  user: process.env.IDENTITY_MONGODB_USERNAME,
  pwd: process.env.IDENTITY_MONGODB_PASSWORD,
  roles: [{ role: "readWrite", db: database }],
});
