/** CSS imports are bundled by esbuild into assets/app.css. */
declare module '*.css';
