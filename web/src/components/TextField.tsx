/** A labelled one-line text input: the form row the console's forms are made of. */
export function TextField(props: {
  id: string;
  label: string;
  value: string;
  onInput: (value: string) => void;
  /** Monospaced (topics, ids, URLs). */
  mono?: boolean;
  placeholder?: string;
  inputMode?: 'numeric' | 'text';
  testId?: string;
}) {
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      <input
        id={props.id}
        class={props.mono === true ? 'mono' : undefined}
        placeholder={props.placeholder}
        inputMode={props.inputMode}
        value={props.value}
        onInput={(e) => props.onInput(e.currentTarget.value)}
        spellcheck={false}
        data-testid={props.testId}
      />
    </div>
  );
}
