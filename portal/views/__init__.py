"""Portal views by page group: `account` (sign-in, tokens, theme, palette), `tenancy` (workspace
tree, one workspace, members, kubeconfig), `catalog` (API catalog, bind wizard, binding status),
`browser` (the object browser and editor). All are thin: parse → resolve the workspace as the user
→ call an app's service or selector (or portal.objects) → render."""
