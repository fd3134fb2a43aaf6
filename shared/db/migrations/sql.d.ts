// `import text from "./NNN_name.sql" with { type: "text" }` gives the file's text (Bun).
declare module "*.sql" {
  const text: string;
  export default text;
}
